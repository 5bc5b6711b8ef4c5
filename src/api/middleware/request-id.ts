import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { GatewayState } from '../state.js';

/** A client-supplied id is kept only if it is short and plain, so it can go into logs and events safely. */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (X-Request-Id, echoed) and a correlation id (X-Correlation-Id from the
 * caller, e.g. one Slack request, or else the request id) and a child logger carrying both.
 */
export const requestIds =
  (logger: Logger): Middleware =>
  async (ctx, next) => {
    const incoming = ctx.get('X-Request-Id');
    const requestId = SAFE_ID.test(incoming) ? incoming : randomUUID();
    const correlation = ctx.get('X-Correlation-Id');
    const correlationId = SAFE_ID.test(correlation) ? correlation : requestId;
    const state = ctx.state as GatewayState;
    state.requestId = requestId;
    state.correlationId = correlationId;
    state.logger = logger.child({ request_id: requestId, correlation_id: correlationId });
    ctx.set('X-Request-Id', requestId);
    ctx.set('X-Correlation-Id', correlationId);
    await next();
  };
