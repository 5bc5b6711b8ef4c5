/** `webhooks.parked_retry_interval` and `webhooks.parked_retry_for`, in milliseconds. */
export interface ParkedRetrySchedule {
  readonly intervalMs: number;
  readonly forMs: number;
}

/** When a parked webhook was first parked, and when it was last tried (parked again, or a retry requested). */
export interface ParkedTimes {
  readonly parkedSince: string;
  readonly lastTriedAt: string;
}

/** Where a parked webhook stands with the schedule at a given time. */
export type ScheduledRetry =
  { readonly status: 'due' } | { readonly status: 'waiting'; readonly at: Date } | { readonly status: 'given_up' };

/**
 * The schedule tries a parked webhook again `intervalMs` after it was last tried, as long as it
 * has been parked no longer than `forMs`; after that it stays parked (a retry on request still
 * works), also when the gateway was down at the window's end. Counting from the last try, not
 * the last parking, keeps a request whose outcome has not come yet from being asked again at once.
 */
export const scheduledRetry = (times: ParkedTimes, schedule: ParkedRetrySchedule, now: Date): ScheduledRetry => {
  const end = Date.parse(times.parkedSince) + schedule.forMs;
  const next = Date.parse(times.lastTriedAt) + schedule.intervalMs;
  if (next > end || now.getTime() > end) return { status: 'given_up' };
  return next <= now.getTime() ? { status: 'due' } : { status: 'waiting', at: new Date(next) };
};
