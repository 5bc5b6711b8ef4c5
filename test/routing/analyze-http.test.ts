import { suggestRoute } from '../../src/routing/assisted.js';
import test from 'ava';
import pino from 'pino';
import * as E from 'fp-ts/lib/Either.js';
import { buildOpenApiDocument } from '../../src/openapi/document.js';
import { createApp } from '../../src/api/app.js';
import { GatewayMetrics } from '../../src/api/metrics.js';
import { authenticate, sha256Hex } from '../../src/config/tokens.js';
import { routingRoutes } from '../../src/routing/routes.js';
import { DEFAULT_SIGNALS_FILE, loadRoutingSignals } from '../../src/routing/signals.js';
import { serve } from '../support/http.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';

const start = async (t: Parameters<typeof serve>[0]) => {
  const signals = loadRoutingSignals(DEFAULT_SIGNALS_FILE);
  if (E.isLeft(signals)) throw new Error(signals.left);
  const app = createApp({
    openApiDocument: buildOpenApiDocument(),
    logger: pino({ level: 'silent' }),
    authenticate: (token) =>
      authenticate(
        [
          { name: 'slack', role: 'operator', sha256: sha256Hex(OPERATOR) },
          { name: 'grafana', role: 'viewer', sha256: sha256Hex(VIEWER) },
        ],
        token,
      ),
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    checks: {},
    corsOrigins: [],
    bodyLimitBytes: 65536,
    routers: [
      routingRoutes((task) =>
        suggestRoute(
          task,
          { signals: signals.right, examples: undefined },
          { mode: 'off', threshold: 0.8, timeoutMs: 1000 },
          undefined,
        ),
      ),
    ],
  });
  return (await serve(t, app)).url;
};

const analyze = (url: string, body: unknown, token = OPERATOR) =>
  fetch(`${url}/api/routing/analyze`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('POST /api/routing/analyze answers the contract’s analysis', async (t) => {
  const url = await start(t);
  const response = await analyze(url, {
    title: 'Define pricing for the Teams plan',
    description: 'Business rules for upgrades and discounts.',
  });
  t.is(response.status, 200);
  const body = (await response.json()) as Record<string, unknown>;
  t.deepEqual(Object.keys(body).sort(), ['confidence', 'decided_by', 'reason', 'scores', 'signals', 'suggested']);
  t.is(body['suggested'], 'pm');
  t.deepEqual(Object.keys(body['scores'] as object).sort(), ['architect', 'builder', 'party-mode', 'pm']);
  t.true(
    (body['signals'] as { route: string; term: string; weight: number }[]).every(
      (signal) => typeof signal.term === 'string' && signal.weight > 0,
    ),
  );
  t.regex(body['reason'] as string, /pricing/);
});

test('every invalid field is named, and a viewer may not call it', async (t) => {
  const url = await start(t);
  const bad = await analyze(url, { title: '', description: 'x'.repeat(20001) });
  t.is(bad.status, 400);
  const problem = (await bad.json()) as { errors: { path: string; message: string }[] };
  t.deepEqual(problem.errors.map((error) => error.path).sort(), ['description', 'title']);
  t.regex(problem.errors.find((error) => error.path === 'description')!.message, /0\.\.20000 characters, got 20001/);
  const missing = await analyze(url, {});
  t.deepEqual(((await missing.json()) as { errors: { path: string }[] }).errors.map((error) => error.path).sort(), [
    'description',
    'title',
  ]);
  t.is((await analyze(url, { title: 'x', description: '' }, VIEWER)).status, 403);
  t.is((await fetch(`${url}/api/routing/analyze`, { method: 'POST', body: '{}' })).status, 401);
});
