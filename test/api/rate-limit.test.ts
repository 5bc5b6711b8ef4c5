import test from 'ava';
import Router from '@koa/router';
import pino from 'pino';
import { createApp } from '../../src/api/app.js';
import { GatewayMetrics } from '../../src/api/metrics.js';
import { authenticate, sha256Hex } from '../../src/config/tokens.js';
import { serve } from '../support/http.js';

const tokens = [
  { name: 'slack', role: 'operator' as const, sha256: sha256Hex('slack-token-0123456789') },
  { name: 'grafana', role: 'viewer' as const, sha256: sha256Hex('viewer-token-0123456789') },
];

test('over the per-token limit /api answers 429 problem with Retry-After; other tokens and public routes are unaffected', async (t) => {
  const router = new Router();
  router.get('/api/ping', (ctx) => {
    ctx.body = { pong: true };
  });
  const app = createApp({
    logger: pino({ level: 'silent' }),
    authenticate: (token) => authenticate(tokens, token),
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    checks: {},
    corsOrigins: [],
    bodyLimitBytes: 1024,
    rateLimitPerMinute: 3,
    routers: [router],
  });
  const { url } = await serve(t, app);
  const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  for (let i = 0; i < 3; i++) t.is((await fetch(`${url}/api/ping`, as('slack-token-0123456789'))).status, 200);
  const limited = await fetch(`${url}/api/ping`, as('slack-token-0123456789'));
  t.is(limited.status, 429);
  t.is(limited.headers.get('content-type'), 'application/problem+json');
  t.true(Number(limited.headers.get('retry-after')) > 0);
  const problem = (await limited.json()) as { status: number; title: string; detail: string };
  t.is(problem.status, 429);
  t.is(problem.title, 'Too Many Requests');
  t.regex(problem.detail, /more than 3 requests in a minute/);
  t.is((await fetch(`${url}/api/ping`, as('viewer-token-0123456789'))).status, 200, 'each token has its own budget');
  t.is((await fetch(`${url}/health`)).status, 200, 'public routes are not limited');
});
