import { exemptFromContract } from '../support/contract.js';
import test, { type ExecutionContext } from 'ava';
import { Writable } from 'node:stream';
import Router from '@koa/router';
import * as t from 'io-ts';
import pino from 'pino';
import { buildOpenApiDocument } from '../../src/openapi/document.js';
import { createApp } from '../../src/api/app.js';
import { GatewayMetrics, instrumentEventStore } from '../../src/api/metrics.js';
import { ProblemError } from '../../src/api/problem.js';
import { decodeBody, ifMatchRevision, setETag } from '../../src/api/validation.js';
import { authenticate, sha256Hex } from '../../src/config/tokens.js';
import { EventStoreUnavailableError } from '../../src/eventstore/port.js';
import { serve } from '../support/http.js';
import { openTestStore } from '../support/test-store.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const AUDITOR = 'auditor-token-0123456789';
const tokens = [
  { name: 'slack', role: 'operator' as const, sha256: sha256Hex(OPERATOR) },
  { name: 'grafana', role: 'viewer' as const, sha256: sha256Hex(VIEWER) },
  { name: 'audit', role: 'auditor' as const, sha256: sha256Hex(AUDITOR) },
];

const Body = t.type({ title: t.string, repos: t.array(t.type({ name: t.string })) });

const setUp = async (test: ExecutionContext, options: { check?: () => Promise<void> } = {}) => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const testStore = await openTestStore(test);
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const store = instrumentEventStore(testStore.store, metrics);
  const router = new Router();
  router.post('/api/things', (ctx) => {
    const body = decodeBody(Body, ctx);
    const expected = ifMatchRevision(ctx);
    if (expected !== undefined && expected !== 3)
      throw new ProblemError(412, `the thing is at revision 3, not ${expected}`);
    setETag(ctx, 3);
    ctx.status = 202;
    ctx.body = { accepted: body.title };
  });
  router.get('/api/things/:id', (ctx) => {
    if (ctx.params['id'] !== 'known') throw new ProblemError(404, `no thing ${ctx.params['id']}`);
    ctx.body = { id: 'known' };
  });
  router.get('/api/audit/things', (ctx) => {
    ctx.body = { items: [], next_cursor: null };
  });
  router.get('/api/broken', () => {
    throw new Error('secret internal detail at /srv/app.js:12');
  });
  router.get('/api/store-down', () => {
    throw new EventStoreUnavailableError('connection refused');
  });
  const app = createApp({
    openApiDocument: buildOpenApiDocument(),
    logger: pino({ level: 'info' }, sink),
    authenticate: (token) => authenticate(tokens, token),
    metrics,
    checks: { event_store: options.check ?? (() => store.checkHealth()) },
    corsOrigins: ['https://slack-backend.example.com'],
    bodyLimitBytes: 256,
    routers: [router],
  });
  const { url } = await serve(test, app);
  exemptFromContract(url, 'the HTTP edge alone, with routes of its own (/api/things, /api/broken)');
  return { url, lines, store, metrics, testStore };
};

const auth = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

const problemOf = async (response: Response) => {
  const text = await response.text();
  return {
    type: response.headers.get('content-type'),
    body: JSON.parse(text) as {
      type: string;
      title: string;
      status: number;
      detail: string;
      errors?: { path: string; message: string }[];
    },
    text,
  };
};

test('GET /health is 200 with the version, without a token', async (t) => {
  const { url } = await setUp(t);
  const response = await fetch(`${url}/health`);
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { status: 'ok', version: '1.1.0' });
});

test('GET /ready: ready when the store answers, degraded (503) when it fails or hangs', async (t) => {
  const ok = await setUp(t);
  const ready = await fetch(`${ok.url}/ready`);
  t.is(ready.status, 200);
  t.deepEqual(await ready.json(), {
    status: 'ready',
    checks: { event_store: 'ok', opencode: 'not configured', kubernetes: 'not configured' },
  });
  await ok.testStore.close();
  const closed = await fetch(`${ok.url}/ready`);
  t.is(closed.status, 503);
  t.like(await closed.json(), { status: 'degraded', checks: { event_store: 'error: the event store is closed' } });
  const hanging = await setUp(t, { check: () => new Promise(() => {}) });
  const slow = await fetch(`${hanging.url}/ready`);
  t.is(slow.status, 503);
  t.like(await slow.json(), { checks: { event_store: 'error: no answer within 2000 ms' } });
});

test('GET /metrics: latency by route pattern, events appended, subscription lag', async (t) => {
  const { url, store, metrics } = await setUp(t);
  await fetch(`${url}/api/things/known`, { headers: auth(VIEWER) });
  await fetch(`${url}/api/things/other`, { headers: auth(VIEWER) });
  await store.appendToStream('s', [
    { id: crypto.randomUUID(), type: 'T', data: {}, metadata: {} },
    { id: crypto.randomUUID(), type: 'T', data: {}, metadata: {} },
  ]);
  metrics.reportLag('projection:stream-catalog', 7);
  const response = await fetch(`${url}/metrics`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await response.text();
  t.regex(
    text,
    /gateway_http_request_duration_seconds_count\{method="GET",route="\/api\/things\/:id",status="200"\} 1/,
  );
  t.regex(
    text,
    /gateway_http_request_duration_seconds_count\{method="GET",route="\/api\/things\/:id",status="404"\} 1/,
  );
  t.notRegex(text, /route="\/api\/things\/known"/, 'never the raw path');
  t.regex(text, /gateway_events_appended_total 2/);
  t.regex(text, /gateway_subscription_lag_events\{subscriber="projection:stream-catalog"\} 7/);
});

test('GET /openapi.json and /docs with its assets, under a CSP that allows only the gateway itself', async (t) => {
  const { url } = await setUp(t);
  const document = (await (await fetch(`${url}/openapi.json`)).json()) as {
    openapi: string;
    info: { version: string };
  };
  t.is(document.openapi, '3.1.0');
  t.is(document.info.version, '1.1.0');
  const page = await fetch(`${url}/docs`);
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type') ?? '', /text\/html/);
  t.regex(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await page.text();
  for (const asset of ['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/init.js']) {
    t.true(html.includes(asset), asset);
    const response = await fetch(`${url}${asset}`);
    t.is(response.status, 200, asset);
    t.true((await response.arrayBuffer()).byteLength > 0);
  }
  const missing = await fetch(`${url}/docs/package.json`);
  t.is(missing.status, 404);
  t.is(missing.headers.get('content-type'), 'application/problem+json');
  // Names of Object.prototype's members are not assets either (they were a 500 without a token).
  for (const name of ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__']) {
    const response = await fetch(`${url}/docs/${name}`);
    t.is(response.status, 404, name);
    t.is(response.headers.get('content-type'), 'application/problem+json', name);
  }
});

test('401 without a token or with a bad one, with a Bearer challenge', async (t) => {
  const { url } = await setUp(t);
  for (const headers of [{}, auth('not-a-token'), { authorization: 'Basic abc' }]) {
    const response = await fetch(`${url}/api/things/known`, { headers });
    t.is(response.status, 401);
    t.regex(response.headers.get('www-authenticate') ?? '', /^Bearer/);
    const { type, body } = await problemOf(response);
    t.is(type, 'application/problem+json');
    t.like(body, { status: 401, title: 'Unauthorized' });
  }
});

test('the policy cannot be dodged by the case of the path', async (t) => {
  const { url } = await setUp(t);
  t.is((await fetch(`${url}/API/things/known`)).status, 401);
  t.is((await fetch(`${url}/Api/Audit/things`, { headers: auth(VIEWER) })).status, 403);
  t.is((await fetch(`${url}/API/AUDIT/things`, { headers: auth(AUDITOR) })).status, 200);
});

test('403 for a role that may not: viewer commands, viewer audit; auditor and operator read audit', async (t) => {
  const { url } = await setUp(t);
  const command = await fetch(`${url}/api/things`, {
    method: 'POST',
    headers: auth(VIEWER, { 'content-type': 'application/json' }),
    body: '{"title":"x","repos":[]}',
  });
  t.is(command.status, 403);
  t.regex((await problemOf(command)).body.detail, /viewer may not POST \/api\/things; it needs operator/);
  t.is((await fetch(`${url}/api/audit/things`, { headers: auth(VIEWER) })).status, 403);
  t.is((await fetch(`${url}/api/audit/things`, { headers: auth(AUDITOR) })).status, 200);
  t.is((await fetch(`${url}/api/audit/things`, { headers: auth(OPERATOR) })).status, 200);
  t.is((await fetch(`${url}/api/things/known`, { headers: auth(AUDITOR) })).status, 200, 'auditors read');
});

test('400 names every failing field; malformed JSON is 400 too', async (t) => {
  const { url } = await setUp(t);
  const post = (body: string) =>
    fetch(`${url}/api/things`, {
      method: 'POST',
      headers: auth(OPERATOR, { 'content-type': 'application/json' }),
      body,
    });
  const invalid = await problemOf(await post('{"title":5,"repos":[{"name":"a"},{}]}'));
  t.is(invalid.body.status, 400);
  t.deepEqual(
    invalid.body.errors?.map((error) => error.path),
    ['title', 'repos[1].name'],
  );
  const malformed = await problemOf(await post('{"title":'));
  t.like(malformed.body, { status: 400, detail: 'the request body is not valid JSON' });
  const ok = await post('{"title":"x","repos":[]}');
  t.is(ok.status, 202);
  t.is(ok.headers.get('etag'), '"3"');
});

test('404, 405, 412, 413, 415 as problem documents', async (t) => {
  const { url } = await setUp(t);
  const unknown = await problemOf(await fetch(`${url}/api/nothing-here`, { headers: auth(VIEWER) }));
  t.like(unknown.body, { status: 404, title: 'Not Found' });
  const notFound = await problemOf(await fetch(`${url}/api/things/other`, { headers: auth(VIEWER) }));
  t.like(notFound.body, { status: 404, detail: 'no thing other' });
  const wrongMethod = await fetch(`${url}/health`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  t.is(wrongMethod.status, 405);
  t.regex(wrongMethod.headers.get('allow') ?? '', /GET/);
  t.is((await problemOf(wrongMethod)).type, 'application/problem+json');
  const precondition = await fetch(`${url}/api/things`, {
    method: 'POST',
    headers: auth(OPERATOR, { 'content-type': 'application/json', 'if-match': '"2"' }),
    body: '{"title":"x","repos":[]}',
  });
  t.is(precondition.status, 412);
  const badIfMatch = await fetch(`${url}/api/things`, {
    method: 'POST',
    headers: auth(OPERATOR, { 'content-type': 'application/json', 'if-match': 'two' }),
    body: '{"title":"x","repos":[]}',
  });
  t.is(badIfMatch.status, 400);
  const tooLarge = await fetch(`${url}/api/things`, {
    method: 'POST',
    headers: auth(OPERATOR, { 'content-type': 'application/json' }),
    body: JSON.stringify({ title: 'x'.repeat(400), repos: [] }),
  });
  t.is(tooLarge.status, 413);
  t.is((await problemOf(tooLarge)).type, 'application/problem+json');
  const notJson = await fetch(`${url}/api/things`, {
    method: 'POST',
    headers: auth(OPERATOR, { 'content-type': 'text/plain' }),
    body: 'title=x',
  });
  t.is(notJson.status, 415);
  t.like((await problemOf(notJson)).body, { status: 415 });
});

test('500 says nothing of the cause and logs it; 503 when the store is unavailable', async (t) => {
  const { url, lines } = await setUp(t);
  const broken = await problemOf(await fetch(`${url}/api/broken`, { headers: auth(VIEWER) }));
  t.like(broken.body, { status: 500, title: 'Internal Server Error' });
  t.false(broken.text.includes('secret internal detail'));
  t.false(broken.text.includes('.js:'));
  t.true(
    lines.some((line) => line['msg'] === 'request failed' && JSON.stringify(line).includes('secret internal detail')),
  );
  const down = await fetch(`${url}/api/store-down`, { headers: auth(VIEWER) });
  t.is(down.status, 503);
  t.truthy(down.headers.get('retry-after'));
});

test('security headers, request and correlation ids on every response', async (t) => {
  const { url } = await setUp(t);
  for (const path of ['/health', '/api/nothing']) {
    const response = await fetch(`${url}${path}`, {
      headers: { 'x-request-id': 'slack-req-42', 'x-correlation-id': 'thread-7' },
    });
    t.is(response.headers.get('x-content-type-options'), 'nosniff');
    t.is(response.headers.get('x-frame-options'), 'DENY');
    t.is(response.headers.get('referrer-policy'), 'no-referrer');
    t.regex(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    t.is(response.headers.get('x-powered-by'), null);
    t.is(response.headers.get('x-request-id'), 'slack-req-42');
    t.is(response.headers.get('x-correlation-id'), 'thread-7');
  }
  const unsafe = await fetch(`${url}/health`, { headers: { 'x-request-id': 'bad id\twith spaces' } });
  t.regex(unsafe.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  t.is(unsafe.headers.get('x-correlation-id'), unsafe.headers.get('x-request-id'));
});

test('CORS: allowed origins only; a preflight needs no token', async (t) => {
  const { url } = await setUp(t);
  const allowed = await fetch(`${url}/health`, { headers: { origin: 'https://slack-backend.example.com' } });
  t.is(allowed.headers.get('access-control-allow-origin'), 'https://slack-backend.example.com');
  const other = await fetch(`${url}/health`, { headers: { origin: 'https://evil.example.com' } });
  t.is(other.headers.get('access-control-allow-origin'), null);
  const preflight = await fetch(`${url}/api/things`, {
    method: 'OPTIONS',
    headers: {
      origin: 'https://slack-backend.example.com',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,idempotency-key',
    },
  });
  t.is(preflight.status, 204);
  t.regex(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  t.regex(preflight.headers.get('access-control-allow-headers') ?? '', /Idempotency-Key/i);
});

test('the access log has ids, route and status, and never the token', async (t) => {
  const { url, lines } = await setUp(t);
  await fetch(`${url}/api/things/known`, { headers: auth(VIEWER, { 'x-request-id': 'req-1' }) });
  await fetch(`${url}/api/things/known`, { headers: auth('wrong-token-0123456789') });
  const line = lines.find((entry) => entry['request_id'] === 'req-1' && entry['msg'] === 'request');
  t.like(line, { route: '/api/things/:id', status: 200, actor: 'grafana', correlation_id: 'req-1' });
  const all = JSON.stringify(lines);
  t.false(all.includes(VIEWER));
  t.false(all.includes('wrong-token-0123456789'));
});
