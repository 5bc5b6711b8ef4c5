import * as t from 'io-ts';
import { defineEvent, jsonCodec, type EventOf } from '../events/domain-event.js';

/** The contract's webhook body, as it is sent and as it is kept while parked. */
export const WebhookPayload = t.intersection([
  t.type({ event_id: t.string, event_type: t.string, occurred_at: t.string, session_id: t.string, data: t.UnknownRecord }),
  t.partial({ deployment_id: t.string }),
]);
export type WebhookPayload = t.TypeOf<typeof WebhookPayload>;

export const WebhookDelivered = defineEvent(
  'WebhookDelivered',
  jsonCodec(t.type({ event_id: t.string, event_type: t.string, status_code: t.number, attempts: t.number, delivered_at: t.string })),
);
/** Still failing after every retry, or held behind an earlier parked one of its session (`held_behind`). */
export const WebhookParked = defineEvent(
  'WebhookParked',
  jsonCodec(
    t.type({ event_id: t.string, webhook: WebhookPayload, attempts: t.number, last_error: t.string, held_behind: t.union([t.string, t.null]), parked_at: t.string }),
  ),
);
/** A person asked for a parked webhook to be sent again (POST /api/webhooks/failed/{event_id}/retry). */
export const WebhookRetryRequested = defineEvent(
  'WebhookRetryRequested',
  jsonCodec(t.type({ event_id: t.string, webhook: WebhookPayload, requested_by: t.string, requested_at: t.string })),
);

export type WebhookEvent = EventOf<typeof WebhookDelivered> | EventOf<typeof WebhookParked> | EventOf<typeof WebhookRetryRequested>;
export const webhookEventDefinitions = [WebhookDelivered, WebhookParked, WebhookRetryRequested] as const;

/** One stream per session holds its deliveries, so order per session can be kept. */
export const webhookStream = (sessionId: string): string => `webhook-${sessionId}`;
