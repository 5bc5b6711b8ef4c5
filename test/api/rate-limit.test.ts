import { exemptFromContract } from '../support/contract.js';
import test from 'ava';
import Router from '@koa/router';
import pino from 'pino';
import { buildOpenApiDocument } from '../../src/openapi/document.js';
import { createApp } from '../../src/api/app.js';
import { GatewayMetrics } from '../../src/api/metrics.js';
import { authenticate, sha256Hex } from '../../src/config/tokens.js';
import { serve } from '../support/http.js';

const tokens = [
  { name: 'slack', role: 'operator' as const, sha256: sha256Hex('slack-token-0123456789') },
  { name: 'grafana', role: 'viewer' as const, sha256: sha256Hex('viewer-token-0123456789') },
];

/** The HTTP edge alone, with these limits and a route /api/ping. */
const appWith = (rateLimits: { perToken: number; perAddress: number }) => {
  const router = new Router();
  router.get('/api/ping', (ctx) => {
    ctx.body = { pong: true };
  });
  return createApp({
    openApiDocument: buildOpenApiDocument(),
    logger: pino({ level: 'silent' }),
    authenticate: (token) => authenticate(tokens, token),
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    checks: {},
    corsOrigins: [],
    bodyLimitBytes: 1024,
    rateLimits,
    routers: [router],
  });
};

test('over the per-token limit /api answers 429 problem with Retry-After; other tokens are unaffected', async (t) => {
  const app = appWith({ perToken: 3, perAddress: 1000 });
  const { url } = await serve(t, app);
  exemptFromContract(url, 'the HTTP edge alone, with a route of its own (/api/ping)');
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
  t.is((await fetch(`${url}/health`)).status, 200, 'liveness is never limited');
});

test('without a valid token every route is limited by address, wrong tokens included; liveness is never limited, readiness counts apart', async (t) => {
  const app = appWith({ perToken: 1000, perAddress: 4 });
  const { url } = await serve(t, app);
  exemptFromContract(url, 'the HTTP edge alone, with a route of its own (/api/ping)');
  const statuses: number[] = [];
  for (const [path, headers] of [
    ['/labs/bundles/x.tar.gz', {}],
    ['/nope', {}],
    ['/api/sessions', { authorization: 'Bearer guess-1' }],
    ['/api/sessions', { authorization: 'Bearer guess-2' }],
    ['/api/sessions', { authorization: 'Bearer guess-3' }],
    ['/openapi.json', {}],
  ] as const) {
    statuses.push((await fetch(`${url}${path}`, { headers })).status);
  }
  t.deepEqual(
    statuses,
    [404, 404, 401, 401, 429, 429],
    'the fifth request from the address is refused, whatever it holds',
  );
  t.is((await fetch(`${url}/health`)).status, 200, 'liveness is never limited');
  t.is((await fetch(`${url}/ready`)).status, 200, 'readiness has a budget of its own');
  t.is(
    (await fetch(`${url}/api/ping`, { headers: { authorization: 'Bearer viewer-token-0123456789' } })).status,
    200,
    'a valid token has its own budget',
  );
});
