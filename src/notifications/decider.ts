import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from '../commands/decider.js';
import type { DomainError } from '../commands/domain-error.js';
import type { SentWebhook, WebhookEvent, WebhookPayload } from './events.js';
import { scheduledRetry, type ParkedRetrySchedule } from './retry-schedule.js';

interface ParkedWebhook {
  readonly webhook: WebhookPayload;
  readonly attempts: number;
  readonly lastError: string;
  /** When it was first parked: the schedule retries it for `parked_retry_for` from then. */
  readonly parkedSince: string;
  /** When it was last parked again or asked to be retried: the schedule's next try counts from then. */
  readonly lastTriedAt: string;
}

/**
 * A session's webhook deliveries: the ones parked and not delivered since. A parked webhook does
 * not hold back the session's later ones (contract 1.1); it waits for a retry, on request or on
 * the schedule.
 */
export type Deliveries =
  | { readonly status: 'clear' }
  /** Parked webhooks by event id, in the order they were first parked. */
  | { readonly status: 'parked'; readonly parked: ReadonlyMap<string, ParkedWebhook> };

export type DeliveriesCommand =
  /** The receiver acknowledged a webhook (2xx). */
  | {
      readonly type: 'RecordDelivered';
      readonly webhook: SentWebhook;
      readonly statusCode: number;
      readonly attempts: number;
      readonly now: Date;
    }
  /** A webhook that failed its tries: parked, listed, retried later. */
  | {
      readonly type: 'RecordParked';
      readonly webhook: SentWebhook;
      readonly attempts: number;
      readonly lastError: string;
      readonly now: Date;
    }
  /** A person's retry (POST /api/webhooks/failed/{event_id}/retry): any parked webhook, whenever. */
  | { readonly type: 'RequestRetry'; readonly eventId: string; readonly requestedBy: string; readonly now: Date }
  /** The schedule's retry: only when it is due, and not once the webhook was parked longer than the schedule's `forMs`. */
  | {
      readonly type: 'RetryOnSchedule';
      readonly eventId: string;
      readonly schedule: ParkedRetrySchedule;
      readonly now: Date;
    };

/** Who requests the schedule's retries, as the deadline timer is `timer` elsewhere. */
const SCHEDULE_ACTOR = 'timer';

const withParked = (state: Deliveries, change: (parked: Map<string, ParkedWebhook>) => void): Deliveries => {
  const parked = new Map(state.status === 'parked' ? state.parked : []);
  change(parked);
  return parked.size === 0 ? { status: 'clear' } : { status: 'parked', parked };
};

const evolveDeliveries = (state: Deliveries, event: WebhookEvent): Deliveries => {
  switch (event.type) {
    case 'WebhookParked':
      return withParked(state, (parked) => {
        const earlier = parked.get(event.data.event_id);
        parked.set(event.data.event_id, {
          webhook: event.data.webhook,
          attempts: event.data.attempts,
          lastError: event.data.last_error,
          parkedSince: earlier?.parkedSince ?? event.data.parked_at,
          lastTriedAt: event.data.parked_at,
        });
      });
    case 'WebhookDelivered':
      return withParked(state, (parked) => parked.delete(event.data.event_id));
    case 'WebhookRetryRequested':
      return withParked(state, (parked) => {
        const earlier = parked.get(event.data.event_id);
        if (earlier) parked.set(event.data.event_id, { ...earlier, lastTriedAt: event.data.requested_at });
      });
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
};

const retryRequested = (eventId: string, parked: ParkedWebhook, requestedBy: string, now: Date): WebhookEvent => ({
  type: 'WebhookRetryRequested',
  data: { event_id: eventId, webhook: parked.webhook, requested_by: requestedBy, requested_at: now.toISOString() },
});

export const deliveriesDecider: Decider<DeliveriesCommand, WebhookEvent, Deliveries> = {
  initialState: () => ({ status: 'clear' }),
  evolve: evolveDeliveries,
  decide: (command, state): E.Either<DomainError, readonly WebhookEvent[]> => {
    switch (command.type) {
      case 'RecordDelivered': {
        const { webhook } = command;
        return E.right([
          {
            type: 'WebhookDelivered',
            data: {
              event_id: webhook.event_id,
              event_type: webhook.event_type,
              status_code: command.statusCode,
              attempts: command.attempts,
              delivered_at: command.now.toISOString(),
            },
          },
        ]);
      }
      case 'RecordParked':
        return E.right([
          {
            type: 'WebhookParked',
            data: {
              event_id: command.webhook.event_id,
              webhook: command.webhook,
              attempts: command.attempts,
              last_error: command.lastError,
              held_behind: null,
              parked_at: command.now.toISOString(),
            },
          },
        ]);
      default:
        return decideRetry(command, state);
    }
  },
};

/** A retry, on request or on the schedule, of a webhook that is parked. */
const decideRetry = (
  command: Extract<DeliveriesCommand, { type: 'RequestRetry' | 'RetryOnSchedule' }>,
  state: Deliveries,
): E.Either<DomainError, readonly WebhookEvent[]> => {
  const parked = state.status === 'parked' ? state.parked.get(command.eventId) : undefined;
  switch (command.type) {
    case 'RequestRetry':
      if (!parked) return E.left({ kind: 'not_found', detail: `no parked webhook ${command.eventId}` });
      return E.right([retryRequested(command.eventId, parked, command.requestedBy, command.now)]);
    case 'RetryOnSchedule': {
      // Refusals are conflicts: the timer fires from a view that may be behind the log, and says nothing of them.
      if (!parked)
        return E.left({ kind: 'conflict', state: state.status, detail: `webhook ${command.eventId} is not parked` });
      const retry = scheduledRetry(parked, command.schedule, command.now);
      switch (retry.status) {
        case 'due':
          return E.right([retryRequested(command.eventId, parked, SCHEDULE_ACTOR, command.now)]);
        case 'waiting':
          return E.left({
            kind: 'conflict',
            state: state.status,
            detail: `webhook ${command.eventId} is retried on schedule at ${retry.at.toISOString()}`,
          });
        case 'given_up':
          return E.left({
            kind: 'conflict',
            state: state.status,
            detail: `webhook ${command.eventId} was parked longer than the schedule retries it; only a retry on request sends it`,
          });
        default: {
          const unexpected: never = retry;
          return unexpected;
        }
      }
    }
    default: {
      const unexpected: never = command;
      return unexpected;
    }
  }
};
