import { documentsView, type CapabilityModule } from '../capability/capability.js';
import { ProcessManagerRunner } from '../process-managers/runner.js';
import { webhookEventDefinitions } from './events.js';
import { failedWebhooks } from './failed-webhooks-view.js';
import { notifier, notifierEffects } from './notifier-process.js';
import { scheduledRetriesDue } from './parked-retries.js';
import { webhookRoutes } from './routes.js';

/** Notifications: signed webhooks to the Slack backend, retried, parked when they keep failing, and sent again. */
export const notificationsCapability: CapabilityModule = {
  name: 'notifications',
  events: webhookEventDefinitions,
  views: [documentsView(failedWebhooks, 'parked webhooks')],
  create: (config, shared) => {
    const parked = shared.viewOf(failedWebhooks);
    const { webhooks } = config;
    return {
      processManagers: [
        new ProcessManagerRunner({
          ...shared.runtimeOptions,
          processManager: notifier,
          effects: notifierEffects({
            eventLog: shared.eventLog,
            url: webhooks.slack_url,
            secret: config.secrets.webhookSecret ?? '',
            attempts: webhooks.retry_attempts + 1,
          }),
          // The contract's retries: `retry_attempts` more tries, the waits growing from `retry_delay`.
          retry: {
            attempts: webhooks.retry_attempts + 1,
            initialDelayMs: webhooks.retry_delay,
            factor: 2,
            maxDelayMs: 5 * 60_000,
          },
        }),
      ],
      routers: [webhookRoutes({ eventLog: shared.eventLog, failed: parked })],
      // Parked webhooks, sent again every parked_retry_interval for parked_retry_for (none while webhooks are off).
      due: (now) =>
        webhooks.slack_url === ''
          ? []
          : scheduledRetriesDue(parked.getState().values(), now, {
              intervalMs: webhooks.parked_retry_interval * 1000,
              forMs: webhooks.parked_retry_for * 1000,
            }),
    };
  },
};
