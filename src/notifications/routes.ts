import Router from '@koa/router';
import type { FailedWebhookView } from './failed-webhooks-view.js';
import { ProblemError } from '../api/problem.js';
import { commandContextOf } from '../api/state.js';
import { pageOf, paginate } from '../api/validation.js';
import { answerCommand } from '../api/answer-command.js';
import type { EventLog } from '../events/event-log.js';
import type { DocumentProjectionRunner } from '../projections/runner.js';
import { deliveriesDecider } from './decider.js';
import { webhookStream } from './events.js';

/** The list's order and the schedule's bookkeeping stay inside: the contract's FailedWebhook. */
const withoutBookkeeping = ({
  position: _position,
  parked_since: _since,
  last_tried_at: _tried,
  ...view
}: FailedWebhookView) => view;

/** GET /api/webhooks/failed and POST /api/webhooks/failed/{event_id}/retry. */
export const webhookRoutes = (options: {
  eventLog: EventLog;
  failed: DocumentProjectionRunner<FailedWebhookView>;
  clock?: () => Date;
  /** How long a retry's answer waits for the list to show it (default 5 s). */
  viewWaitMs?: number;
}): Router => {
  const router = new Router();
  const clock = options.clock ?? (() => new Date());

  router.get('/api/webhooks/failed', (ctx) => {
    const page = pageOf(ctx);
    const views = [...options.failed.getState().values()].sort((a, b) => a.position - b.position);
    ctx.body = paginate(views.map(withoutBookkeeping), page);
  });

  router.post('/api/webhooks/failed/:event_id/retry', async (ctx) => {
    const eventId = ctx.params['event_id']!;
    const view = options.failed.get(eventId);
    if (!view) throw new ProblemError(404, `no parked webhook ${eventId}`);
    const now = clock();
    await answerCommand(
      ctx,
      {
        eventLog: options.eventLog,
        stream: webhookStream(view.session_id),
        decider: deliveriesDecider,
        command: { type: 'RequestRetry', eventId, requestedBy: commandContextOf(ctx, now).actor, now },
        views: options.failed,
        id: eventId,
        location: '/api/webhooks/failed',
        viewWaitMs: options.viewWaitMs ?? 5000,
        // The session's webhook stream moves with every delivery of its other webhooks: If-Match names this one's revision.
        ifMatchAgainst: 'view',
        whenGone: view,
      },
      withoutBookkeeping,
    );
  });

  return router;
};
