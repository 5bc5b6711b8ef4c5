import type { Middleware } from 'koa';
import compose from 'koa-compose';
import rateLimit from 'koa-ratelimit';
import { stateOf } from '../state.js';

export interface RateLimits {
  /** Requests a minute for each token. */
  readonly perToken: number;
  /** Requests a minute for each client address without a valid token (and again for its probes). */
  readonly perAddress: number;
}

const MINUTE = 60_000;
/**
 * Liveness is never limited: it does no I/O and answers the same each time, and a refusal could
 * only make an orchestrator restart a healthy gateway. Readiness (which does I/O) counts apart
 * from the other routes, so a flood of them from the orchestrator's address cannot fail it.
 */
const LIVENESS = '/health';
const READINESS = '/ready';

/**
 * Every route but liveness is limited within a sliding minute: a caller with a valid token by its token, any
 * other by its address (a wrong token counts too, so tokens cannot be guessed without limit).
 * Over the limit is 429 with Retry-After, as a problem document. In memory: each replica counts
 * its own, and entries whose minute is over are swept, so many addresses cannot grow it for ever.
 */
export const rateLimits = (limits: RateLimits): Middleware => {
  const byToken = new Map();
  const byAddress = new Map();
  setInterval(() => {
    for (const db of [byToken, byAddress]) sweep(db as Map<string, { reset: number }>);
  }, MINUTE).unref();
  const common = {
    driver: 'memory' as const,
    duration: MINUTE,
    throw: true,
    headers: { remaining: 'RateLimit-Remaining', reset: 'RateLimit-Reset', total: 'RateLimit-Limit' },
  };
  return compose([
    rateLimit({
      ...common,
      db: byToken,
      max: limits.perToken,
      id: (ctx) => (ctx.path === LIVENESS ? false : (stateOf(ctx).principal?.name ?? false)),
      errorMessage: `more than ${limits.perToken} requests in a minute with this token; retry after the time in Retry-After`,
    }),
    rateLimit({
      ...common,
      db: byAddress,
      max: limits.perAddress,
      id: (ctx) =>
        stateOf(ctx).principal || ctx.path === LIVENESS
          ? false
          : `${ctx.ip}${ctx.path === READINESS ? ' readiness' : ''}`,
      errorMessage: `more than ${limits.perAddress} requests in a minute from this address without a valid token; retry after the time in Retry-After`,
    }),
  ]);
};

/** Forgets the callers whose minute is over (the limiter would start them afresh anyway). */
const sweep = (db: Map<string, { reset: number }>): void => {
  const now = Date.now() / 1000;
  for (const [key, entry] of db) if (entry.reset < now) db.delete(key);
};
