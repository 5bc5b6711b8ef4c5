import type { StoredEvent } from '../src/events/stored-event.js';
import type { WebhookEvent } from '../src/notifications/events.js';
import type { DocumentProjection } from '../src/projections/projection.js';

/** A parked webhook as GET /api/webhooks/failed lists it. */
export interface FailedWebhookView {
  readonly event_id: string;
  readonly event_type: string;
  readonly session_id: string;
  readonly attempts: number;
  readonly last_error: string;
  readonly failed_at: string;
  /** The earlier parked webhook of the session it waits behind, or null when it failed itself. */
  readonly held_behind: string | null;
  /** Where it was first parked in `$all`: the list's order. */
  readonly position: number;
}

/** Webhooks parked and not delivered since, by event id. */
export const failedWebhooks: DocumentProjection<FailedWebhookView> = {
  name: 'failed-webhooks',
  documentIdsOf: (stored) => (stored.stream.startsWith('webhook-') && (stored.event.type === 'WebhookParked' || stored.event.type === 'WebhookDelivered') ? [(stored.event.data as { event_id: string }).event_id] : []),
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
          position: view?.position ?? stored.position,
        };
      case 'WebhookDelivered':
        return undefined;
      case 'WebhookRetryRequested':
        return view;
      default: {
        const unexpected: never = event;
        return unexpected;
      }
    }
  },
};
