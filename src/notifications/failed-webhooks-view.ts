import type { StoredEvent } from '../events/stored-event.js';
import { webhookSessionOf, type WebhookEvent } from './events.js';
import type { DocumentProjection } from '../projections/projection.js';

/** A parked webhook as GET /api/webhooks/failed lists it. */
export interface FailedWebhookView {
  readonly event_id: string;
  readonly event_type: string;
  readonly session_id: string;
  readonly attempts: number;
  readonly last_error: string;
  readonly failed_at: string;
  /** Always null since contract 1.1; for a webhook held behind an earlier parked one before that, that one's id. */
  readonly held_behind: string | null;
  /** When it was first parked: the schedule retries it for `webhooks.parked_retry_for` from then. */
  readonly parked_since: string;
  /** When it was last parked again or asked to be retried: the schedule's next try counts from then. */
  readonly last_tried_at: string;
  /** The revision of the session's webhook stream at this webhook's last change: its ETag, and what `If-Match` names. */
  readonly revision: number;
  /** Where it was first parked in `$all`: the list's order. */
  readonly position: number;
}

const WEBHOOK_EVENT_TYPES = new Set(['WebhookParked', 'WebhookDelivered', 'WebhookRetryRequested']);

/** Webhooks parked and not delivered since, by event id. */
export const failedWebhooks: DocumentProjection<FailedWebhookView> = {
  name: 'failed-webhooks',
  documentIdsOf: (stored) =>
    webhookSessionOf(stored.stream) !== undefined && WEBHOOK_EVENT_TYPES.has(stored.event.type)
      ? [(stored.event.data as { event_id: string }).event_id]
      : [],
  evolve: (view, stored) => {
    const event = (stored as StoredEvent<WebhookEvent>).event;
    switch (event.type) {
      case 'WebhookParked':
        return {
          event_id: event.data.event_id,
          event_type: event.data.webhook.event_type,
          session_id: event.data.webhook.session_id,
          attempts: (view?.attempts ?? 0) + event.data.attempts,
          last_error: event.data.last_error,
          failed_at: event.data.parked_at,
          held_behind: event.data.held_behind,
          parked_since: view?.parked_since ?? event.data.parked_at,
          last_tried_at: event.data.parked_at,
          revision: stored.revision,
          position: view?.position ?? stored.position,
        };
      case 'WebhookDelivered':
        return undefined;
      case 'WebhookRetryRequested':
        return view && { ...view, last_tried_at: event.data.requested_at, revision: stored.revision };
      default: {
        const unexpected: never = event;
        return unexpected;
      }
    }
  },
};
