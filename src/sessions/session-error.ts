import type { SessionEvent } from './events.js';

type FailingEvent = Extract<SessionEvent, { type: 'WorkspaceFailed' | 'SessionFailed' }>;

/**
 * What a person is told of a session that failed (the view's `error`, the SSE `status` event):
 * why, in words that stand alone, naming the repo and the cause.
 */
export const sessionErrorOf = (event: FailingEvent): string =>
  event.type === 'WorkspaceFailed' ? `The workspace could not be prepared: ${event.data.reason}` : event.data.reason;

/** What a person is told of a push that failed (the progress webhook and SSE event): the branch, the repo, the remote and why. */
export const pushFailedSummary = (event: Extract<SessionEvent, { type: 'BranchPushFailed' }>): string =>
  `Pushing ${event.data.branch} of repo ${event.data.repo} to ${event.data.remote} failed: ${event.data.reason}`;
