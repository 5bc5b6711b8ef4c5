import Koa from 'koa';
import { koaBody } from 'koa-body';
import Router from '@koa/router';
import * as E from 'fp-ts/lib/Either.js';
import { domainErrorToProblem } from '../../src/api/domain-problem.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import { idempotency, type IdempotencyOptions } from '../../src/api/middleware/idempotency.js';
import type { IdempotencyStore } from '../../src/commands/idempotency-store.js';
import type { EventLog } from '../../src/events/event-log.js';
import { ProblemError } from '../../src/api/problem.js';
import { counterDecider } from './counter.js';
import { problemMiddleware } from './http.js';

export interface CounterAppHooks {
  /** Awaited inside the increment handler before it decides; lets a test hold a request mid-flight. */
  beforeIncrement?: () => Promise<void>;
  /** Called for each request as it arrives, before idempotency. */
  onArrival?: (path: string) => void;
}

/**
 * A tiny API over the counter aggregate, wired the way the gateway wires commands:
 * problem middleware, an actor from the (test) auth header, koa-body with the raw body kept,
 * the idempotency middleware (keys in `records`, scoped per actor), then routes that run `handleCommand`.
 */
export const counterApp = (
  eventLog: EventLog,
  records: IdempotencyStore,
  options: Partial<IdempotencyOptions> = {},
  hooks: CounterAppHooks = {},
): Koa => {
  const app = new Koa();
  const router = new Router();
  let requests = 0;
  const contextOf = (ctx: Koa.Context) => ({
    actor: ctx.get('X-Test-Actor') || 'tester',
    correlationId: ctx.get('X-Request-Id') || `req-${(ctx.state as { requestNumber: number }).requestNumber}`,
    causationId: ctx.get('X-Request-Id') || `req-${(ctx.state as { requestNumber: number }).requestNumber}`,
    now: new Date(),
  });

  router.post('/counters/:id', async (ctx) => {
    const body = ctx.request.body as { limit?: unknown };
    if (typeof body.limit !== 'number')
      throw new ProblemError(400, 'bad body', { errors: [{ path: 'limit', message: 'required number' }] });
    const result = await handleCommand(
      eventLog,
      `counter-${ctx.params['id']}`,
      counterDecider,
      { type: 'open', id: ctx.params['id']!, limit: body.limit },
      contextOf(ctx),
    );
    if (E.isLeft(result)) throw domainErrorToProblem(result.left);
    ctx.status = 201;
    ctx.set('ETag', `"${result.right.revision}"`);
    ctx.set('Location', `/counters/${ctx.params['id']}`);
    ctx.set('X-Not-Replayed', 'per-response');
    ctx.body = { counter_id: ctx.params['id'], revision: result.right.revision };
  });

  router.post('/counters/:id/increments', async (ctx) => {
    await hooks.beforeIncrement?.();
    const body = ctx.request.body as { by?: unknown };
    const ifMatch = ctx.get('If-Match');
    const result = await handleCommand(
      eventLog,
      `counter-${ctx.params['id']}`,
      counterDecider,
      { type: 'increment', by: typeof body.by === 'number' ? body.by : Number.NaN, now: new Date() },
      contextOf(ctx),
      ifMatch ? { expectedRevision: Number(ifMatch.replaceAll('"', '')) } : {},
    );
    if (E.isLeft(result)) throw domainErrorToProblem(result.left);
    const state = result.right.state;
    ctx.status = 202;
    ctx.set('ETag', `"${result.right.revision}"`);
    ctx.body = {
      counter_id: ctx.params['id'],
      value: state.status === 'absent' ? 0 : state.value,
      revision: result.right.revision,
    };
  });

  router.post('/failures/crash', () => {
    throw new Error('the handler broke');
  });
  router.post('/failures/unavailable', (ctx) => {
    ctx.status = 503;
    ctx.body = { detail: 'try later' };
  });
  router.post('/failures/throttled', () => {
    throw new ProblemError(429, 'slow down', { headers: { 'Retry-After': '3' } });
  });
  router.post('/text', (ctx) => {
    ctx.status = 200;
    ctx.body = `plain text #${++requests}`;
  });
  router.post('/nothing', (ctx) => {
    ctx.status = 204;
    requests++;
  });
  router.post('/binary', (ctx) => {
    ctx.body = Buffer.from(`bytes #${++requests}`);
  });

  app.use(async (ctx, next) => {
    (ctx.state as { requestNumber: number }).requestNumber = ++requests;
    hooks.onArrival?.(ctx.path);
    await next();
  });
  app.use(problemMiddleware);
  app.use(koaBody({ includeUnparsed: true }));
  const runOnce = idempotency(records, options);
  app.use((ctx, next) => runOnce(ctx, `actor:${contextOf(ctx).actor}`, next));
  app.use(router.routes());
  return app;
};
