import Router from '@koa/router';
import * as t from 'io-ts';
import { boundedString } from '../api/codecs.js';
import { decodeBody } from '../api/validation.js';
import { analyzeRoute } from './analyze.js';
import type { RoutingSignals } from './signals.js';

const TaskBody = t.exact(t.type({ title: boundedString(1, 200), description: boundedString(0, 20000) }));

/** `POST /api/routing/analyze`: pure analysis, appends nothing. */
export const routingRoutes = (signals: RoutingSignals): Router => {
  const router = new Router();
  router.post('/api/routing/analyze', (ctx) => {
    const task = decodeBody(TaskBody, ctx);
    ctx.body = analyzeRoute(task, signals);
  });
  return router;
};
