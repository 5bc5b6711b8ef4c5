import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { Principal } from '../config/tokens.js';
import type { CommandContext } from '../events/metadata.js';

/** What the middleware puts on `ctx.state` for the handlers after it. */
export interface GatewayState {
  requestId: string;
  correlationId: string;
  logger: Logger;
  principal?: Principal;
  /** The route pattern that matched (`/api/sessions/:session_id`), for metrics and logs. */
  routePattern?: string;
}

export const stateOf = (ctx: Context): GatewayState => ctx.state;

/** The metadata source for a command issued by this request. */
export const commandContextOf = (ctx: Context, now: Date): CommandContext => {
  const state = stateOf(ctx);
  return {
    actor: state.principal?.name ?? 'anonymous',
    correlationId: state.correlationId,
    causationId: state.requestId,
    now,
  };
};
