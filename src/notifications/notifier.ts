import type { DomainEvent } from '../events/domain-event.js';
import type { EventLog } from '../events/event-log.js';
import type { StoredEvent } from '../events/stored-event.js';
import { foldEvents } from '../commands/decider.js';
import type { EffectContext, EffectHandlers, ProcessManager, Reaction } from '../process-managers/process-manager.js';
import { deliveriesDecider } from './deliveries.js';
import { webhookStream, type WebhookEvent, type WebhookPayload } from './events.js';
import { sendWebhook } from './send.js';
import { webhookFor } from './webhook-for.js';

export type NotifierEffect = {
  readonly kind: 'deliver-webhook';
  readonly webhook: WebhookPayload;
  /** A person's retry of a parked webhook: it goes out even though the session is blocked. */
  readonly retry: boolean;
};

/**
 * The webhook notifier, pure: a session event that is news for Slack becomes a delivery, and a
 * retry request a redelivery. The runner handles events one at a time in log order, so
 * deliveries leave in event order.
 */
export const notifier: ProcessManager<NotifierEffect> = {
  name: 'notifier',
  react: (stored: StoredEvent): readonly Reaction<NotifierEffect>[] => {
    if (stored.event.type === 'WebhookRetryRequested' && stored.stream.startsWith('webhook-')) {
      const { webhook } = (stored.event as Extract<WebhookEvent, { type: 'WebhookRetryRequested' }>).data;
      return [{ type: 'effect', key: `${stored.id}:redeliver`, stream: stored.stream, effect: { kind: 'deliver-webhook', webhook, retry: true } }];
    }
    const webhook = webhookFor(stored);
    if (!webhook) return [];
    return [{ type: 'effect', key: `${stored.id}:webhook`, stream: webhookStream(webhook.session_id), effect: { kind: 'deliver-webhook', webhook, retry: false } }];
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
 * Sends one webhook per try. A failure throws so the runner retries it with growing delay; the
 * last try parks it instead. A webhook of a blocked session is parked behind the earlier one
 * without being sent. A retry that gets through sends on, in order, the ones parked after it.
 */
export const notifierEffects = (options: NotifierOptions): EffectHandlers<NotifierEffect> => {
  const clock = options.clock ?? (() => new Date());
  const send = (webhook: WebhookPayload, signal: AbortSignal) => sendWebhook({ url: options.url, secret: options.secret, webhook, signal, timeoutMs: options.timeoutMs ?? 10_000, now: clock() });
  const delivered = (webhook: WebhookPayload, statusCode: number, attempts: number): DomainEvent => ({
    type: 'WebhookDelivered',
    data: { event_id: webhook.event_id, event_type: webhook.event_type, status_code: statusCode, attempts, delivered_at: clock().toISOString() },
  });
  const parked = (webhook: WebhookPayload, attempts: number, lastError: string, heldBehind: string | null): DomainEvent => ({
    type: 'WebhookParked',
    data: { event_id: webhook.event_id, webhook, attempts, last_error: lastError, held_behind: heldBehind, parked_at: clock().toISOString() },
  });

  return {
    'deliver-webhook': async (request, context: EffectContext): Promise<readonly DomainEvent[]> => {
      if (options.url === '') return [];
      const stream = webhookStream(request.webhook.session_id);
      const state = foldEvents(deliveriesDecider, (await options.eventLog.readStream<WebhookEvent>(stream)).map((stored) => stored.event));
      if (!request.retry && state.status === 'blocked') {
        const [head] = state.parked.keys();
        return [parked(request.webhook, 0, `held behind parked webhook ${head} to keep the session's order`, head!)];
      }
      const result = await send(request.webhook, context.signal);
      if (!result.ok) {
        if (context.attempt < options.attempts) throw new Error(result.error);
        return [parked(request.webhook, context.attempt, result.error, null)];
      }
      const outcome = [delivered(request.webhook, result.status, context.attempt)];
      if (!request.retry || state.status !== 'blocked') return outcome;
      // The ones parked after this one follow it now, in order, until one fails.
      const queue = [...state.parked.values()].map((entry) => entry.webhook);
      for (const next of queue.slice(queue.findIndex((webhook) => webhook.event_id === request.webhook.event_id) + 1)) {
        const sent = await send(next, context.signal);
        if (!sent.ok) break;
        outcome.push(delivered(next, sent.status, 1));
      }
      return outcome;
    },
  };
};
