import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from '../commands/decider.js';
import type { DomainError } from '../commands/domain-error.js';
import type { WebhookEvent, WebhookPayload } from './events.js';

export interface ParkedWebhook {
  readonly webhook: WebhookPayload;
  readonly attempts: number;
  readonly lastError: string;
}

/**
 * A session's webhook deliveries. While one of them is parked the session is `blocked`: its later
 * webhooks are parked behind it instead of overtaking it, so Slack never sees them out of order.
 */
export type Deliveries =
  | { readonly status: 'clear' }
  /** Parked webhooks by event id, in the order they were parked. */
  | { readonly status: 'blocked'; readonly parked: ReadonlyMap<string, ParkedWebhook> };

export type DeliveriesCommand = { readonly type: 'RequestRetry'; readonly eventId: string; readonly requestedBy: string; readonly now: Date };

const withParked = (state: Deliveries, change: (parked: Map<string, ParkedWebhook>) => void): Deliveries => {
  const parked = new Map(state.status === 'blocked' ? state.parked : []);
  change(parked);
  return parked.size === 0 ? { status: 'clear' } : { status: 'blocked', parked };
};

export const evolveDeliveries = (state: Deliveries, event: WebhookEvent): Deliveries => {
  switch (event.type) {
    case 'WebhookParked':
      return withParked(state, (parked) => parked.set(event.data.event_id, { webhook: event.data.webhook, attempts: event.data.attempts, lastError: event.data.last_error }));
    case 'WebhookDelivered':
      return withParked(state, (parked) => parked.delete(event.data.event_id));
    case 'WebhookRetryRequested':
      return state;
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
};

export const deliveriesDecider: Decider<DeliveriesCommand, WebhookEvent, Deliveries> = {
  initialState: () => ({ status: 'clear' }),
  evolve: evolveDeliveries,
  decide: (command, state): E.Either<DomainError, readonly WebhookEvent[]> => {
    const parked = state.status === 'blocked' ? state.parked.get(command.eventId) : undefined;
    if (!parked) return E.left({ kind: 'not_found', detail: `no parked webhook ${command.eventId}` });
    return E.right([{ type: 'WebhookRetryRequested', data: { event_id: command.eventId, webhook: parked.webhook, requested_by: command.requestedBy, requested_at: command.now.toISOString() } }]);
  },
};
