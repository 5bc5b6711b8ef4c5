import type { StoredEvent } from '../events/stored-event.js';
import type { SessionEvent } from '../sessions/events.js';
import type { RequestedBy } from '../sessions/events.js';
import { webhookFor } from './webhook-for.js';

/**
 * How far a session's stream has been counted: `sequence` is the number of webhooks among its
 * events up to `revision`, so the webhook of the event at `revision` (if it makes one) is number
 * `sequence`. Derived from the session's own events alone, a webhook keeps its number however
 * often it is sent, after a restart too, and a parked one leaves its gap in what a receiver got.
 */
export interface EnvelopeCount {
  readonly revision: number;
  readonly sequence: number;
  readonly requestedBy: RequestedBy | null;
}

export const NOTHING_COUNTED: EnvelopeCount = { revision: -1, sequence: 0, requestedBy: null };

/** Moves the count over the session's next event, in stream order. */
export const countWebhooks = (count: EnvelopeCount, stored: StoredEvent): EnvelopeCount => {
  const event = stored.event as SessionEvent;
  return {
    revision: stored.revision,
    sequence: count.sequence + (webhookFor(stored) === null ? 0 : 1),
    requestedBy:
      event.type === 'SessionCreated'
        ? event.data.requested_by
          ? { ...event.data.requested_by }
          : null
        : count.requestedBy,
  };
};

/** The count up to the event `eventId` of the session's history, or undefined when it is not there. */
export const countUpTo = (history: readonly StoredEvent[], eventId: string): EnvelopeCount | undefined => {
  let count = NOTHING_COUNTED;
  for (const stored of history) {
    count = countWebhooks(count, stored);
    if (stored.id === eventId) return count;
  }
  return undefined;
};
