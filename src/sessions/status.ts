/**
 * The session's status machine as the contract names it: initializing → awaiting_route →
 * active ⇄ paused → closed; failed before closed. The decider's state, the view, the list filter
 * and the OpenAPI enums take it from here.
 */
export const SESSION_STATUSES = ['initializing', 'awaiting_route', 'active', 'paused', 'closed', 'failed'] as const;

export type SessionStatus = (typeof SESSION_STATUSES)[number];

const ENDED: ReadonlySet<SessionStatus> = new Set(['closed', 'failed']);

/** Closed or failed: nothing more happens in the session. */
export const hasEnded = (status: SessionStatus): boolean => ENDED.has(status);

/** Not started yet: waiting for its workspace, then for a route. */
export const isStarting = (status: SessionStatus | 'none'): boolean =>
  status === 'initializing' || status === 'awaiting_route';

export const isSessionStatus = (value: unknown): value is SessionStatus =>
  typeof value === 'string' && (SESSION_STATUSES as readonly string[]).includes(value);
