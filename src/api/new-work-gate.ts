import { ProblemError } from './problem.js';

/** How long a client is asked to wait before trying new work again while the disk is short. */
const RETRY_AFTER_SECONDS = 60;

/**
 * For the routes that start new work: a 503 with `Retry-After` while the event log's disk is
 * below its reserve, so work already under way keeps the room to record its outcome.
 */
export const admitNewWorkWhileRoom = (shortfall: () => Promise<string | undefined>) => async (): Promise<void> => {
  const reason = await shortfall();
  if (reason === undefined) return;
  throw new ProblemError(503, `new work waits: ${reason}; work under way goes on`, {
    type: 'https://gateway.dev/problems/disk-reserve',
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  });
};
