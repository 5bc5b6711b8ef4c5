import type { Middleware } from 'koa';
import rateLimit from 'koa-ratelimit';
import { stateOf } from '../state.js';

/**
 * Per caller (token name, or address before authentication) within a sliding minute; over the
 * limit is 429 with Retry-After, as a problem document. In memory: each replica counts its own.
 */
export const rateLimitPerCaller = (requestsPerMinute: number): Middleware =>
  rateLimit({
    driver: 'memory',
    db: new Map(),
    duration: 60_000,
    max: requestsPerMinute,
    id: (ctx) => stateOf(ctx).principal?.name ?? `address:${ctx.ip}`,
    whitelist: (ctx) => !ctx.path.toLowerCase().startsWith('/api/'),
    throw: true,
    errorMessage: `more than ${requestsPerMinute} requests in a minute; retry after the time in Retry-After`,
    headers: { remaining: 'RateLimit-Remaining', reset: 'RateLimit-Reset', total: 'RateLimit-Limit' },
  }) as Middleware;
