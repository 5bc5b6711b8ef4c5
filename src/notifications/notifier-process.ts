import type { EventLog } from '../events/event-log.js';
import type { StoredEvent } from '../events/stored-event.js';
import { foldEvents } from '../commands/decider.js';
import {
  effectThenCommand,
  type EffectContext,
  type EffectHandlers,
  type ProcessManager,
  type Reaction,
} from '../process-managers/process-manager.js';
import { deliveriesDecider, type DeliveriesCommand } from './decider.js';

/** What a delivery records on the session's webhook stream, through its decider. */
type Recorded = { readonly command: DeliveriesCommand };
import { webhookSessionOf, webhookStream, type SentWebhook, type WebhookEvent, type WebhookPayload } from './events.js';
import { sendWebhook } from './send.js';
import { SessionEnvelopes } from './session-envelopes.js';
import { webhookFor } from './webhook-for.js';

export type NotifierEffect =
  /** A session event's webhook, sent the first time; `revision` is the event's place in the session's stream, which numbers it. */
  | { readonly kind: 'deliver-webhook'; readonly webhook: WebhookPayload; readonly revision: number }
  /** A parked webhook asked for again, by a person or by the schedule. */
  | { readonly kind: 'redeliver-webhook'; readonly webhook: WebhookPayload };

/**
 * The webhook notifier, pure: a session event that is news for Slack becomes a delivery, and a
 * retry request a redelivery. Every outcome goes to the session's webhook stream, so the runner
 * sends one session's webhooks one at a time, in event order, and different sessions' side by side.
 */
export const notifier: ProcessManager<NotifierEffect> = {
  name: 'notifier',
  react: (stored: StoredEvent): readonly Reaction<NotifierEffect>[] => {
    if (stored.event.type === 'WebhookRetryRequested' && webhookSessionOf(stored.stream) !== undefined) {
      const { webhook } = (stored.event as Extract<WebhookEvent, { type: 'WebhookRetryRequested' }>).data;
      return [
        effectThenCommand(
          `${stored.id}:redeliver`,
          stored.stream,
          deliveriesDecider,
          { kind: 'redeliver-webhook', webhook },
          { rerunnable: true },
        ),
      ];
    }
    const webhook = webhookFor(stored);
    if (!webhook) return [];
    // With webhooks off (or a redelivery that finds the webhook delivered) there is nothing to record and nothing sent: no proof is kept.
    return [
      effectThenCommand(
        `${stored.id}:webhook`,
        webhookStream(webhook.session_id),
        deliveriesDecider,
        { kind: 'deliver-webhook', webhook, revision: stored.revision },
        { rerunnable: true },
      ),
    ];
  },
};

export interface NotifierOptions {
  readonly eventLog: EventLog;
  /** Empty: webhooks are off, and nothing is sent or parked. */
  readonly url: string;
  readonly secret: string;
  /** Tries in all (the first and `retry_attempts` retries); the runner waits between them. */
  readonly attempts: number;
  readonly clock?: () => Date;
  readonly timeoutMs?: number;
}

/**
 * Sends one webhook per try, with its envelope: its `sequence` and the session's `requested_by`.
 * A first delivery that fails throws so the runner retries it with growing delay; the last try
 * parks it, and the session's later webhooks go on (contract 1.1). A redelivery is one try:
 * failing, it is parked again at once instead of holding the session's later webhooks through a
 * round of retries; the schedule tries it again later.
 */
export const notifierEffects = (options: NotifierOptions): EffectHandlers<NotifierEffect> => {
  const clock = options.clock ?? (() => new Date());
  const envelopes = new SessionEnvelopes(options.eventLog);
  const send = (webhook: SentWebhook, signal: AbortSignal) =>
    sendWebhook({
      url: options.url,
      secret: options.secret,
      webhook,
      signal,
      timeoutMs: options.timeoutMs ?? 10_000,
      now: clock(),
    });
  const delivered = (webhook: SentWebhook, statusCode: number, attempts: number): Recorded => ({
    command: { type: 'RecordDelivered', webhook, statusCode, attempts, now: clock() },
  });
  const parked = (webhook: SentWebhook, attempts: number, lastError: string): Recorded => ({
    command: { type: 'RecordParked', webhook, attempts, lastError, now: clock() },
  });
  /** A webhook parked before contract 1.1 was kept without its envelope: it is counted from the session's stream. */
  const withEnvelope = async (webhook: WebhookPayload): Promise<SentWebhook> => {
    if (webhook.sequence !== undefined && webhook.requested_by !== undefined)
      return { ...webhook, sequence: webhook.sequence, requested_by: webhook.requested_by };
    const count = await envelopes.of(webhook.session_id, webhook.event_id);
    if (!count) throw new Error(`session ${webhook.session_id} has no event ${webhook.event_id}`);
    return { ...webhook, sequence: count.sequence, requested_by: count.requestedBy };
  };

  return {
    'deliver-webhook': async (request, context: EffectContext): Promise<Recorded | readonly []> => {
      if (options.url === '') return [];
      const count = await envelopes.at(request.webhook.session_id, request.revision);
      const webhook: SentWebhook = { ...request.webhook, sequence: count.sequence, requested_by: count.requestedBy };
      const result = await send(webhook, context.signal);
      if (result.ok) return delivered(webhook, result.status, context.attempt);
      if (context.attempt < options.attempts) throw new Error(result.error);
      return parked(webhook, context.attempt, result.error);
    },
    'redeliver-webhook': async (request, context: EffectContext): Promise<Recorded | readonly []> => {
      if (options.url === '') return [];
      const history = await options.eventLog.readStream<WebhookEvent>(webhookStream(request.webhook.session_id));
      const state = foldEvents(
        deliveriesDecider,
        history.map((stored) => stored.event),
      );
      // Delivered since it was asked for (a person's retry and the schedule's both waiting): once is enough.
      if (state.status !== 'parked' || !state.parked.has(request.webhook.event_id)) return [];
      const webhook = await withEnvelope(request.webhook);
      const result = await send(webhook, context.signal);
      return result.ok ? delivered(webhook, result.status, 1) : parked(webhook, 1, result.error);
    },
  };
};
