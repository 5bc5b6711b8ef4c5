import Router from '@koa/router';
import * as t from 'io-ts';
import { boundedString } from '../api/codecs.js';
import { decodeBody } from '../api/validation.js';
import type { RoutingTask } from './analyze.js';
import type { AssistedAnalysis } from './assisted.js';

const TaskBody = t.exact(t.type({ title: boundedString(1, 200), description: boundedString(0, 20000) }));

/** `POST /api/routing/analyze`: pure analysis, appends nothing. */
export const routingRoutes = (suggest: (task: RoutingTask) => Promise<AssistedAnalysis>): Router => {
  const router = new Router();
  router.post('/api/routing/analyze', async (ctx) => {
    const task = decodeBody(TaskBody, ctx);
    ctx.body = await suggest(task);
  });
  return router;
};
