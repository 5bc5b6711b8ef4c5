import { exemptFromContract } from '../support/contract.js';
import test, { type ExecutionContext } from 'ava';
import Router from '@koa/router';
import * as t from 'io-ts';
import pino from 'pino';
import { buildOpenApiDocument } from '../../src/openapi/document.js';
import { createApp } from '../../src/api/app.js';
import { GatewayMetrics } from '../../src/api/metrics.js';
import { startServer } from '../../src/api/server.js';
import { SseHub } from '../../src/api/sse.js';
import { authenticate, sha256Hex } from '../../src/config/tokens.js';
import { defineEvent, jsonCodec } from '../../src/events/domain-event.js';
import type { EventLog } from '../../src/events/event-log.js';
import { connectSse, type Frame } from '../support/sse-client.js';
import { openTestEventLog, testContext } from '../support/test-store.js';

const Noted = defineEvent('Noted', jsonCodec(t.type({ text: t.string })));
const Done = defineEvent('Done', jsonCodec(t.type({ status: t.string })));
const TOKEN = 'viewer-token-0123456789';
const STREAM = 'deployment-d1';

const connect = (url: string, headers: Record<string, string> = {}) => connectSse(url, TOKEN, headers);

const until = async (condition: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
};

const events = (frames: Frame[]) => frames.filter((frame) => frame.event !== undefined);

const setUp = async (t: ExecutionContext) => {
  const { eventLog, testStore } = await openTestEventLog(t, [Noted, Done]);
  const hub = new SseHub({ keepaliveMs: 50 });
  let stops = 0;
  const router = new Router();
  router.get(
    '/api/test/:id/progress',
    hub.route({
      subscribe: (_ctx, after) => {
        const subscription = eventLog.subscribeToStream(STREAM, { afterRevision: after });
        return {
          [Symbol.asyncIterator]: () => subscription[Symbol.asyncIterator](),
          stop: async () => {
            stops++;
            await subscription.stop();
          },
        };
      },
      toMessage: (stored) => ({
        event: stored.event.type === 'Done' ? 'complete' : 'progress',
        data: stored.event.data,
      }),
      isTerminal: (stored) => stored.event.type === 'Done',
    }),
  );
  const app = createApp({
    openApiDocument: buildOpenApiDocument(),
    logger: pino({ level: 'silent' }),
    authenticate: (token) => authenticate([{ name: 'grafana', role: 'viewer', sha256: sha256Hex(TOKEN) }], token),
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    checks: {},
    corsOrigins: [],
    bodyLimitBytes: 1024,
    routers: [router],
  });
  const server = await startServer(app, { host: '127.0.0.1', port: 0 });
  exemptFromContract(server.url, 'an SSE route of its own over a test stream');
  t.teardown(() => server.close({ beforeDrain: () => hub.close(), graceMs: 100 }));
  return { eventLog, testStore, hub, server, url: `${server.url}/api/test/d1/progress`, stops: () => stops };
};

const note = (eventLog: EventLog, text: string) =>
  eventLog.append(STREAM, [{ type: 'Noted', data: { text } }], { expectedRevision: 'any', context: testContext() });

test('retry first, ids are revisions from 0, one-line JSON data, live events, and the end after the terminal event', async (t) => {
  const { eventLog, url, hub } = await setUp(t);
  await note(eventLog, 'first');
  const client = await connect(url);
  t.is(client.response.statusCode, 200);
  t.regex(client.response.headers['content-type'] ?? '', /^text\/event-stream/);
  await until(() => events(client.frames).length === 1, 'the stored event');
  t.is(client.frames.find((frame) => frame.retry !== undefined)?.retry, '2000');
  t.true(
    client.frames.findIndex((frame) => frame.retry !== undefined) <
      client.frames.findIndex((frame) => frame.event !== undefined),
    'retry comes before any event',
  );
  await note(eventLog, 'second\nline');
  await eventLog.append(STREAM, [{ type: 'Done', data: { status: 'succeeded' } }], {
    expectedRevision: 'any',
    context: testContext(),
  });
  await client.ended;
  t.deepEqual(
    events(client.frames).map(({ id, event, data }) => ({ id, event, data })),
    [
      { id: '0', event: 'progress', data: '{"text":"first"}' },
      { id: '1', event: 'progress', data: '{"text":"second\\nline"}' },
      { id: '2', event: 'complete', data: '{"status":"succeeded"}' },
    ],
  );
  await until(() => hub.openStreams === 0, 'the stream to be released');
});

for (const [how, headers, query] of [
  ['Last-Event-ID', { 'last-event-id': '1' }, ''],
  ['?from=', {}, '?from=1'],
] as const) {
  test(`resuming with ${how} delivers every later event exactly once, in order, then live ones`, async (t) => {
    const { eventLog, url } = await setUp(t);
    for (const text of ['a', 'b', 'c', 'd']) await note(eventLog, text);
    const client = await connect(`${url}${query}`, headers);
    await until(() => events(client.frames).length === 2, 'the catch-up');
    await note(eventLog, 'e');
    await until(() => events(client.frames).length === 3, 'the live event');
    t.deepEqual(
      events(client.frames).map((frame) => frame.id),
      ['2', '3', '4'],
    );
    client.close();
  });
}

test('keepalive comments arrive while nothing happens', async (t) => {
  const { url } = await setUp(t);
  const client = await connect(url);
  await until(() => client.frames.filter((frame) => frame.comment === 'keepalive').length >= 2, 'two keepalives');
  t.pass();
  client.close();
});

test('a client that goes away is cleaned up at once: its subscription stops', async (t) => {
  const { url, hub, stops } = await setUp(t);
  const client = await connect(url);
  await until(() => hub.openStreams === 1, 'the stream to open');
  client.close();
  await until(() => stops() === 1 && hub.openStreams === 0, 'the subscription to stop');
  t.is(stops(), 1);
});

test('a bad resume point is a 400 problem naming it, before any stream starts', async (t) => {
  const { url, hub } = await setUp(t);
  const bad = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}`, 'last-event-id': 'abc' } });
  t.is(bad.status, 400);
  t.is(bad.headers.get('content-type'), 'application/problem+json');
  const problem = (await bad.json()) as { errors: { path: string }[] };
  t.deepEqual(
    problem.errors.map((error) => error.path),
    ['header.Last-Event-ID'],
  );
  const badQuery = await fetch(`${url}?from=-1`, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.is(badQuery.status, 400);
  t.is(hub.openStreams, 0);
});

test('SSE needs a token like every /api read', async (t) => {
  const { url } = await setUp(t);
  t.is((await fetch(url)).status, 401);
});

test('shutdown ends open streams, and koa-sse-stream never writes to the console', async (t) => {
  const logged: unknown[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => void logged.push(args);
  t.teardown(() => {
    console.log = original;
  });
  const { url, hub, server, stops } = await setUp(t);
  const client = await connect(url);
  await until(() => hub.openStreams === 1, 'the stream to open');
  await new Promise((resolve) => setTimeout(resolve, 150));
  await server.close({ beforeDrain: () => hub.close(), graceMs: 2000 });
  await client.ended;
  t.is(stops(), 1);
  t.is(hub.openStreams, 0);
  t.deepEqual(logged, []);
});
