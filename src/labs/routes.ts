import Router from '@koa/router';
import type { NamespaceView } from './namespace-view.js';
import { answerCommand } from '../api/answer-command.js';
import { ProblemError } from '../api/problem.js';
import { commandContextOf } from '../api/state.js';
import { pageOf, paginate } from '../api/validation.js';
import type { EventLog } from '../events/event-log.js';
import type { DocumentProjectionRunner } from '../projections/runner.js';
import { namespaceDecider, type NamespaceCommand } from './decider.js';
import { namespaceStream } from './events.js';

/** What GET /api/namespaces shows of a namespace: the contract's fields. */
const listed = (view: NamespaceView) => ({
  name: view.name,
  project_id: view.project_id,
  url: view.url,
  created_at: view.created_at,
  deletion_scheduled_for: view.deletion_scheduled_for,
  deletion_error: view.deletion_error,
});

/** `after_days`: a whole number of days, 1 to 365; absent means now. */
const afterDaysOf = (value: unknown): number | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 365) {
    throw new ProblemError(400, 'after_days must be a whole number of days from 1 to 365', {
      errors: [{ path: 'query.after_days', message: 'expected an integer 1..365' }],
    });
  }
  return Number(value);
};

/** The contract's lab namespaces: those the gateway made and that still exist; deletion now or after N days. */
export const namespaceRoutes = (options: {
  eventLog: EventLog;
  views: DocumentProjectionRunner<NamespaceView>;
  clock?: () => Date;
  viewWaitMs?: number;
}): Router => {
  const router = new Router();
  const clock = options.clock ?? (() => new Date());

  router.get('/api/namespaces', (ctx) => {
    const page = pageOf(ctx);
    const views = [...options.views.getState().values()]
      .filter((view) => view.status !== 'deleted')
      .sort((a, b) => a.name.localeCompare(b.name));
    ctx.body = paginate(views.map(listed), page);
  });

  router.delete('/api/namespaces/:name', async (ctx) => {
    const name = ctx.params['name']!;
    const afterDays = afterDaysOf(ctx.query['after_days']);
    const view = options.views.get(name);
    // Only what the gateway made: any other name, or one already gone, is unknown here.
    if (!view || view.status === 'deleted') throw new ProblemError(404, `no lab namespace ${name} made by the gateway`);
    const requestedBy = commandContextOf(ctx, clock()).actor;
    const command: NamespaceCommand =
      afterDays === undefined
        ? { type: 'RequestNamespaceDeletion', requestedBy, now: clock() }
        : { type: 'ScheduleNamespaceDeletion', afterDays, requestedBy, now: clock() };
    await answerCommand(
      ctx,
      {
        eventLog: options.eventLog,
        stream: namespaceStream(name),
        decider: namespaceDecider,
        command,
        views: options.views,
        id: name,
        location: '/api/namespaces',
        viewWaitMs: options.viewWaitMs ?? 5000,
      },
      (after) => ({ name: after.name, deletion_scheduled_for: after.deletion_scheduled_for }),
    );
  });

  return router;
};
