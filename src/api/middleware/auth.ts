import type { Middleware } from 'koa';
import type { Principal } from '../../config/tokens.js';
import type { Role } from '../../config/schema.js';
import { ProblemError } from '../problem.js';
import { stateOf } from '../state.js';

export type Authenticator = (bearerToken: string) => Principal | undefined;

const READERS: readonly Role[] = ['operator', 'viewer', 'auditor'];
const AUDITORS: readonly Role[] = ['operator', 'auditor'];
const OPERATORS: readonly Role[] = ['operator'];

/**
 * The contract's roles in one table: public service routes need nothing; Slack interactions are
 * checked by their signature instead; audit needs an auditor (the operator may read everything);
 * other reads and SSE any role; every command the operator.
 */
export const rolesFor = (method: string, requestPath: string): readonly Role[] | 'public' | 'slack-signature' => {
  // The router matches paths case-insensitively, so the policy must too: /API/audit is /api/audit.
  const path = requestPath.toLowerCase();
  if (!path.startsWith('/api/') && path !== '/api') return 'public';
  if (method === 'POST' && path === '/api/slack/interactions') return 'slack-signature';
  if (path === '/api/audit' || path.startsWith('/api/audit/')) return AUDITORS;
  if (method === 'GET' || method === 'HEAD') return READERS;
  return OPERATORS;
};

// The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` are Bearer too.
const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i;

/**
 * Who asks: a valid bearer token sets the principal; anything else leaves it unset and says why
 * for `authorize`. Never refuses by itself, so the rate limit after it can count a caller
 * without a valid token by address, 401s included (no unlimited guessing of tokens).
 */
export const identify =
  (authenticate: Authenticator): Middleware =>
  async (ctx, next) => {
    const header = ctx.get('Authorization');
    if (header !== '') {
      const match = BEARER.exec(header);
      const principal = match ? authenticate(match[1]!) : undefined;
      const state = stateOf(ctx);
      if (principal) {
        state.principal = principal;
        state.logger = state.logger.child({ actor: principal.name });
      }
    }
    await next();
  };

/** The route's roles against the principal `identify` found: 401 without one, 403 for the wrong role. */
export const authorize = (): Middleware => async (ctx, next) => {
  if (ctx.method === 'OPTIONS') {
    await next();
    return;
  }
  const required = rolesFor(ctx.method, ctx.path);
  if (required === 'public' || required === 'slack-signature') {
    await next();
    return;
  }
  const header = ctx.get('Authorization');
  if (header === '')
    throw new ProblemError(401, 'an Authorization: Bearer <token> header is required', {
      headers: { 'WWW-Authenticate': 'Bearer realm="ai-dev-gateway"' },
    });
  const principal = stateOf(ctx).principal;
  if (!principal)
    throw new ProblemError(401, 'the bearer token is not valid', {
      headers: { 'WWW-Authenticate': 'Bearer realm="ai-dev-gateway", error="invalid_token"' },
    });
  if (!required.includes(principal.role)) {
    throw new ProblemError(
      403,
      `role ${principal.role} may not ${ctx.method} ${ctx.path}; it needs ${required.join(' or ')}`,
    );
  }
  await next();
};
