import cors from '@koa/cors';
import type { Middleware } from 'koa';

/**
 * Only configured origins get CORS headers; any other origin gets none, so browsers refuse it.
 * `*` in the list allows every origin (without credentials).
 */
export const corsAllowlist = (origins: readonly string[]): Middleware => {
  const allowed = new Set(origins);
  return cors({
    origin: (ctx) => {
      const origin = ctx.get('Origin');
      if (allowed.has('*')) return '*';
      return allowed.has(origin) ? origin : '';
    },
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: [
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'If-Match',
      'Last-Event-ID',
      'X-Request-Id',
      'X-Correlation-Id',
    ],
    exposeHeaders: ['ETag', 'Location', 'X-Request-Id', 'X-Correlation-Id', 'Idempotent-Replayed', 'Retry-After'],
    maxAge: 600,
  });
};
