import Router from '@koa/router';
import * as E from 'fp-ts/lib/Either.js';
import type { FailedWebhookView } from './failed-webhooks-view.js';
import { ProblemError } from '../api/problem.js';
import { commandContextOf } from '../api/state.js';
import { pageOf, paginate } from '../api/validation.js';
import { domainErrorToProblem } from '../api/domain-problem.js';
import { handleCommand } from '../commands/handle-command.js';
import type { EventLog } from '../events/event-log.js';
import type { DocumentProjectionRunner } from '../projections/runtime.js';
import { deliveriesDecider } from './decider.js';
import { webhookStream } from './events.js';

/** The list's order and the schedule's bookkeeping stay inside: the contract's FailedWebhook. */
const withoutPosition = ({
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
}): Router => {
  const router = new Router();
  const clock = options.clock ?? (() => new Date());

  router.get('/api/webhooks/failed', (ctx) => {
    const page = pageOf(ctx);
    const views = [...options.failed.getState().values()].sort((a, b) => a.position - b.position);
    ctx.body = paginate(views.map(withoutPosition), page);
  });

  router.post('/api/webhooks/failed/:event_id/retry', async (ctx) => {
    const eventId = ctx.params['event_id']!;
    const view = options.failed.get(eventId);
    if (!view) throw new ProblemError(404, `no parked webhook ${eventId}`);
    const context = commandContextOf(ctx, clock());
    const result = await handleCommand(
      options.eventLog,
      webhookStream(view.session_id),
      deliveriesDecider,
      { type: 'RequestRetry', eventId, requestedBy: context.actor, now: clock() },
      context,
    );
    if (E.isLeft(result)) throw domainErrorToProblem(result.left);
    ctx.status = 202;
    ctx.body = withoutPosition(view);
  });

  return router;
};
