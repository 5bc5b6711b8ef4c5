import type { FailedWebhookView } from './failed-webhooks-view.js';
import type { CommandReaction } from '../process-managers/process-manager.js';
import { deliveriesDecider, type DeliveriesCommand } from './decider.js';
import { webhookStream } from './events.js';
import { scheduledRetry, type ParkedRetrySchedule } from './retry-schedule.js';

/**
 * The scheduled retries due at `now`, oldest parking first, for the deadline timer: durable,
 * because the times are folded from the log, and holding no process-manager worker while they
 * wait. The decider checks again, so a retry fired twice (a view behind the log, two replicas)
 * is refused as not due.
 */
export const scheduledRetriesDue = (
  parked: Iterable<FailedWebhookView>,
  now: Date,
  schedule: ParkedRetrySchedule,
): Omit<CommandReaction, 'type'>[] =>
  [...parked]
    .filter(
      (view) =>
        scheduledRetry({ parkedSince: view.parked_since, lastTriedAt: view.last_tried_at }, schedule, now).status ===
        'due',
    )
    .sort((a, b) => a.position - b.position)
    .map((view) => {
      const command: DeliveriesCommand = { type: 'RetryOnSchedule', eventId: view.event_id, schedule, now };
      return {
        key: `retry-parked:${view.event_id}:${view.last_tried_at}`,
        stream: webhookStream(view.session_id),
        decider: deliveriesDecider,
        command,
      };
    });
