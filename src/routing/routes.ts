import Router from '@koa/router';
import * as t from 'io-ts';
import { decodeBody } from '../api/validation.js';
import { analyzeRoute } from './analyze.js';
import type { RoutingSignals } from './signals.js';

const lengthBetween = (min: number, max: number) =>
  new t.Type<string, string, unknown>(
    `string of ${min}..${max} characters`,
    (value): value is string => typeof value === 'string' && value.length >= min && value.length <= max,
    (value, context) =>
      typeof value === 'string' && value.length >= min && value.length <= max
        ? t.success(value)
        : t.failure(value, context, typeof value === 'string' ? `expected ${min}..${max} characters, got ${value.length}` : undefined),
    t.identity,
  );

export const TaskBody = t.exact(t.type({ title: lengthBetween(1, 200), description: lengthBetween(0, 20000) }));

/** `POST /api/routing/analyze`: pure analysis, appends nothing. */
export const routingRoutes = (signals: RoutingSignals): Router => {
  const router = new Router();
  router.post('/api/routing/analyze', (ctx) => {
    const task = decodeBody(TaskBody, ctx);
    ctx.body = analyzeRoute(task, signals);
  });
  return router;
};
