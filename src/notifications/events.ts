import * as t from 'io-ts';
import { defineEvent, jsonCodec, type EventOf } from '../events/domain-event.js';
import { streamNaming } from '../events/stream-name.js';
import { RequestedBy } from '../sessions/events.js';

/**
 * The contract's webhook body, as it is sent and as it is kept while parked. Every webhook sent
 * carries `sequence` and `requested_by` (contract 1.1); they are optional here because webhooks
 * parked before 1.1 were kept without them (a redelivery adds them).
 */
export const WebhookPayload = t.intersection([
  t.type({
    event_id: t.string,
    event_type: t.string,
    occurred_at: t.string,
    session_id: t.string,
    data: t.UnknownRecord,
  }),
  t.partial({ deployment_id: t.string, sequence: t.number, requested_by: t.union([RequestedBy, t.null]) }),
]);
export type WebhookPayload = t.TypeOf<typeof WebhookPayload>;
/** A webhook as it leaves: its place among the session's webhooks and who asked for the session are known. */
export type SentWebhook = WebhookPayload & { readonly sequence: number; readonly requested_by: RequestedBy | null };

const WebhookDelivered = defineEvent(
  'WebhookDelivered',
  jsonCodec(
    t.type({
      event_id: t.string,
      event_type: t.string,
      status_code: t.number,
      attempts: t.number,
      delivered_at: t.string,
    }),
  ),
);
/**
 * Still failing after every retry. `held_behind` is always null since contract 1.1 (a parked
 * webhook no longer holds back its session's later ones); it names the earlier parked webhook
 * for webhooks held behind one before that.
 */
const WebhookParked = defineEvent(
  'WebhookParked',
  jsonCodec(
    t.type({
      event_id: t.string,
      webhook: WebhookPayload,
      attempts: t.number,
      last_error: t.string,
      held_behind: t.union([t.string, t.null]),
      parked_at: t.string,
    }),
  ),
);
/** A person asked for a parked webhook to be sent again (POST /api/webhooks/failed/{event_id}/retry), or the schedule did (`requested_by` "timer"). */
const WebhookRetryRequested = defineEvent(
  'WebhookRetryRequested',
  jsonCodec(t.type({ event_id: t.string, webhook: WebhookPayload, requested_by: t.string, requested_at: t.string })),
);

export type WebhookEvent =
  EventOf<typeof WebhookDelivered> | EventOf<typeof WebhookParked> | EventOf<typeof WebhookRetryRequested>;
export const webhookEventDefinitions = [WebhookDelivered, WebhookParked, WebhookRetryRequested] as const;

/** One stream per session holds its deliveries, so order per session can be kept. */
const webhookStreams = streamNaming('webhook');
export const webhookStream = webhookStreams.name;
/** The session whose webhook outbox this stream is, if it is one. */
export const webhookSessionOf = webhookStreams.idOf;
