import test, { type ExecutionContext } from 'ava';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { commandEventDefinitions } from '../../src/commands/events.js';
import type { IdempotencyOptions } from '../../src/api/middleware/idempotency.js';
import { openIdempotencyStore, type IdempotencyStoreOptions } from '../../src/commands/idempotency-store.js';
import { EventLog } from '../../src/events/event-log.js';
import { EventRegistry } from '../../src/events/registry.js';
import { counterApp, type CounterAppHooks } from '../support/counter-app.js';
import { counterEventDefinitions } from '../support/counter.js';
import { serve } from '../support/http.js';
import { openTestStore } from '../support/test-store.js';

const registry = () => new EventRegistry([...counterEventDefinitions, ...commandEventDefinitions]);

const start = async (
  t: ExecutionContext,
  options: Partial<IdempotencyOptions> = {},
  hooks: CounterAppHooks = {},
  recordOptions: Partial<IdempotencyStoreOptions> = {},
) => {
  const testStore = await openTestStore(t);
  const eventLog = new EventLog(testStore.store, registry());
  const recordsPath = join(testStore.dataDir, 'idempotency.sqlite');
  const openRecords = () => {
    const opened = openIdempotencyStore({ path: recordsPath, ttlMs: 24 * 3600_000, maxKeys: 1000, ...recordOptions });
    t.teardown(() => opened.close());
    return opened;
  };
  const records = openRecords();
  const { url } = await serve(t, counterApp(eventLog, records, options, hooks));
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const streamLength = async (stream: string) => (await testStore.store.readStream(stream)).length;
  return { testStore, eventLog, url, post, streamLength, records, openRecords };
};

const answer = async (response: Response) => ({
  status: response.status,
  body: (await response.json()) as Record<string, unknown>,
  etag: response.headers.get('etag'),
  location: response.headers.get('location'),
  type: response.headers.get('content-type'),
  replayed: response.headers.get('idempotent-replayed'),
});

test('a retry with the same key and body gets the first response and appends nothing', async (t) => {
  const { post, streamLength } = await start(t);
  const key = { 'Idempotency-Key': 'open-c1' };
  const first = await post('/counters/c1', { limit: 10 }, key);
  t.is(first.headers.get('x-not-replayed'), 'per-response');
  const firstAnswer = await answer(first);
  t.like(firstAnswer, { status: 201, etag: '"0"', location: '/counters/c1', replayed: null });
  t.deepEqual(firstAnswer.body, { counter_id: 'c1', revision: 0 });

  const retry = await post('/counters/c1', { limit: 10 }, key);
  t.is(retry.headers.get('x-not-replayed'), null, 'only ETag, Location and Content-Type are repeated');
  const retryAnswer = await answer(retry);
  t.deepEqual(retryAnswer, { ...firstAnswer, replayed: 'true' });
  t.is(await streamLength('counter-c1'), 1);

  // Without the key the command runs again and its verdict is fresh (409: the counter exists).
  const unkeyed = await post('/counters/c1', { limit: 10 });
  t.is(unkeyed.status, 409);
  t.is(await streamLength('counter-c1'), 1);
});

test('the same key with another body is refused with 422 and runs nothing', async (t) => {
  const { post, streamLength } = await start(t);
  await post('/counters/c1', { limit: 10 });
  const first = await post('/counters/c1/increments', { by: 1 }, { 'Idempotency-Key': 'inc-1' });
  t.is(first.status, 202);
  const other = await answer(await post('/counters/c1/increments', { by: 2 }, { 'Idempotency-Key': 'inc-1' }));
  t.is(other.status, 422);
  t.is(other.type, 'application/problem+json');
  t.deepEqual(other.body['errors'], [
    { path: 'header.Idempotency-Key', message: 'already used with a different method, path or body' },
  ]);
  const otherPath = await post('/counters/c2/increments', { by: 1 }, { 'Idempotency-Key': 'inc-1' });
  t.is(otherPath.status, 422);
  t.is(await streamLength('counter-c1'), 2);
});

test('keys are per actor: the same key from another token is another request', async (t) => {
  const { post, streamLength } = await start(t);
  await post('/counters/c1', { limit: 10 });
  await post('/counters/c1/increments', { by: 1 }, { 'Idempotency-Key': 'k', 'X-Test-Actor': 'alice' });
  const bob = await answer(
    await post('/counters/c1/increments', { by: 1 }, { 'Idempotency-Key': 'k', 'X-Test-Actor': 'bob' }),
  );
  t.like(bob, { status: 202, replayed: null });
  t.is(await streamLength('counter-c1'), 3);
});

test('a refusal from the command (4xx) is repeated on retry; the command is not run again', async (t) => {
  const { post, streamLength } = await start(t);
  await post('/counters/c1', { limit: 1 });
  const key = { 'Idempotency-Key': 'too-much' };
  const first = await answer(await post('/counters/c1/increments', { by: 2 }, key));
  t.is(first.status, 409);
  // The limit would now allow it, but the retry must see the first verdict.
  const retry = await answer(await post('/counters/c1/increments', { by: 2 }, key));
  t.like(retry, { status: 409, type: 'application/problem+json', replayed: 'true' });
  t.deepEqual(retry.body, first.body);
  t.is(await streamLength('counter-c1'), 1);
});

test('a stale If-Match (412) is recorded like any other verdict', async (t) => {
  const { post, streamLength } = await start(t);
  await post('/counters/c1', { limit: 10 });
  const headers = { 'Idempotency-Key': 'stale', 'If-Match': '"7"' };
  t.is((await post('/counters/c1/increments', { by: 1 }, headers)).status, 412);
  const retry = await post('/counters/c1/increments', { by: 1 }, headers);
  t.is(retry.status, 412);
  t.is(retry.headers.get('idempotent-replayed'), 'true');
  t.is(await streamLength('counter-c1'), 1);
});

test('server errors and transient answers are not repeated: a retry runs again', async (t) => {
  const { post, testStore } = await start(t);
  for (const path of ['/failures/crash', '/failures/unavailable', '/failures/throttled']) {
    const key = { 'Idempotency-Key': `retry-${path}` };
    const first = await post(path, {}, key);
    const again = await post(path, {}, key);
    t.is(again.status, first.status, path);
    t.is(again.headers.get('idempotent-replayed'), null, `${path} must run again, not replay`);
  }
  t.deepEqual(await testStore.store.readAll(), [], 'the key records are not in the log');
});

test('text and empty responses replay as they were; bodies that cannot be kept are not repeated', async (t) => {
  const { post } = await start(t);
  const text1 = await post('/text', {}, { 'Idempotency-Key': 't' });
  const text2 = await post('/text', {}, { 'Idempotency-Key': 't' });
  t.is(await text2.text(), await text1.text());
  t.is(text2.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.is(text2.headers.get('idempotent-replayed'), 'true');

  const empty1 = await post('/nothing', {}, { 'Idempotency-Key': 'n' });
  const empty2 = await post('/nothing', {}, { 'Idempotency-Key': 'n' });
  t.is(empty1.status, 204);
  t.is(empty2.status, 204);
  t.is(empty2.headers.get('idempotent-replayed'), 'true');

  const nowhere1 = await post('/nowhere', {}, { 'Idempotency-Key': 'x' });
  const nowhere2 = await post('/nowhere', {}, { 'Idempotency-Key': 'x' });
  t.is(nowhere1.status, 404);
  t.is(nowhere2.status, 404, 'an empty 404 stays a 404 (not a 204) when replayed');
  t.is(await nowhere2.text(), await nowhere1.text());

  const binary1 = await post('/binary', {}, { 'Idempotency-Key': 'b' });
  const binary2 = await post('/binary', {}, { 'Idempotency-Key': 'b' });
  t.not(await binary2.text(), await binary1.text());
  t.is(binary2.headers.get('idempotent-replayed'), null);
});

test('a key that is empty, too long or not printable ASCII is a 400 naming the header', async (t) => {
  const { url, post, testStore } = await start(t);
  const tooLong = await answer(await post('/counters/c1', { limit: 1 }, { 'Idempotency-Key': 'k'.repeat(256) }));
  t.is(tooLong.status, 400);
  t.deepEqual(tooLong.body['errors'], [
    { path: 'header.Idempotency-Key', message: 'must be at most 255 characters (got 256)' },
  ]);
  const empty = await answer(await post('/counters/c1', { limit: 1 }, { 'Idempotency-Key': '' }));
  t.deepEqual(empty.body['errors'], [{ path: 'header.Idempotency-Key', message: 'must not be empty' }]);

  // fetch refuses to send non-ASCII header values; a raw request shows what a careless client gets.
  const { port } = new URL(url);
  const status = await new Promise<number>((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/counters/c1',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('error', reject);
    request.setHeader('Idempotency-Key', Buffer.from('clé', 'utf8').toString('latin1'));
    request.end('{"limit":1}');
  });
  t.is(status, 400);
  t.deepEqual(await testStore.store.readAll(), [], 'nothing was appended');
});

test('requests without a key, and other methods, pass straight through', async (t) => {
  const { url, post, streamLength } = await start(t);
  await post('/counters/c1', { limit: 10 });
  await post('/counters/c1/increments', { by: 1 });
  await post('/counters/c1/increments', { by: 1 });
  t.is(await streamLength('counter-c1'), 3);
  const get = await fetch(`${url}/counters/c1`, { headers: { 'Idempotency-Key': 'k'.repeat(300) } });
  t.is(get.status, 404, 'a GET is not checked (the key means nothing there)');
});

test('two concurrent requests with one key: the command runs once, both get its response', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let arrived = 0;
  let bothArrived!: () => void;
  const arrival = new Promise<void>((resolve) => (bothArrived = resolve));
  const { post, streamLength } = await start(
    t,
    { waitMs: 30_000 },
    {
      beforeIncrement: () => gate,
      onArrival: (path) => {
        if (path.endsWith('/increments') && ++arrived === 2) bothArrived();
      },
    },
  );
  await post('/counters/c1', { limit: 10 });
  const headers = { 'Idempotency-Key': 'once' };
  const first = post('/counters/c1/increments', { by: 1 }, headers);
  const second = post('/counters/c1/increments', { by: 1 }, headers);
  await arrival;
  release();
  const answers = await Promise.all([first, second].map(async (response) => answer(await response)));
  t.deepEqual(
    answers.map((a) => a.status),
    [202, 202],
  );
  t.deepEqual(answers[0]!.body, answers[1]!.body);
  t.deepEqual(answers.map((a) => a.replayed).sort(), ['true', null].sort());
  t.is(await streamLength('counter-c1'), 2, 'one increment only');
});

test('a request arriving while the first with its key runs, and not waiting long, gets 409 with Retry-After', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  const { post, streamLength } = await start(
    t,
    { waitMs: 0 },
    {
      beforeIncrement: () => {
        entered();
        return gate;
      },
    },
  );
  await post('/counters/c1', { limit: 10 });
  const headers = { 'Idempotency-Key': 'busy' };
  const first = post('/counters/c1/increments', { by: 1 }, headers);
  await inHandler;
  const second = await answer(await post('/counters/c1/increments', { by: 1 }, headers));
  t.is(second.status, 409);
  t.regex(String(second.body['detail']), /still in progress/);
  release();
  t.is((await first).status, 202);
  const third = await post('/counters/c1/increments', { by: 1 }, headers);
  t.is(third.headers.get('idempotent-replayed'), 'true');
  t.is(await streamLength('counter-c1'), 2);
});

test('a key held by a request that died is taken over once its lease has run out', async (t) => {
  let now = new Date('2030-01-01T00:00:00.000Z');
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  let calls = 0;
  const { post, streamLength } = await start(
    t,
    { waitMs: 0, leaseMs: 5_000, clock: () => now },
    {
      beforeIncrement: () => {
        if (++calls > 1) return Promise.resolve();
        entered();
        return gate;
      },
    },
  );
  await post('/counters/c1', { limit: 10 });
  const headers = { 'Idempotency-Key': 'stuck' };
  const stuck = post('/counters/c1/increments', { by: 1 }, headers);
  await inHandler;
  t.is((await post('/counters/c1/increments', { by: 1 }, headers)).status, 409, 'within the lease: in progress');
  now = new Date(now.getTime() + 5_000);
  const takeover = await answer(await post('/counters/c1/increments', { by: 1 }, headers));
  t.like(takeover, { status: 202, replayed: null });
  // The presumed-dead request finishes late: its answer stands, but it cannot overwrite the record.
  release();
  t.is((await stuck).status, 202);
  const retry = await answer(await post('/counters/c1/increments', { by: 1 }, headers));
  t.deepEqual(retry.body, takeover.body);
  t.is(await streamLength('counter-c1'), 3);
});

test('recorded responses survive a restart of the stores', async (t) => {
  const { post, testStore, records, openRecords } = await start(t);
  const first = await answer(await post('/counters/c1', { limit: 3 }, { 'Idempotency-Key': 'durable' }));
  const reopened = await testStore.reopen();
  records.close();
  const app2 = await serve(t, counterApp(new EventLog(reopened, registry()), openRecords()));
  const retry = await fetch(`${app2.url}/counters/c1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Idempotency-Key': 'durable' },
    body: JSON.stringify({ limit: 3 }),
  });
  t.deepEqual(await answer(retry), { ...first, replayed: 'true' });
  t.is((await reopened.readStream('counter-c1')).length, 1);
});

test('a key answers retries for the TTL, then it is free again; the log never holds key records', async (t) => {
  let now = Date.parse('2030-01-01T00:00:00.000Z');
  const clock = () => now;
  const { post, streamLength, testStore } = await start(
    t,
    { clock: () => new Date(now) },
    {},
    { ttlMs: 60_000, clock },
  );
  await post('/counters/c1', { limit: 10 });
  const key = { 'Idempotency-Key': 'expiring' };
  t.is((await post('/counters/c1/increments', { by: 1 }, key)).status, 202);
  now += 59_000;
  t.is(
    (await post('/counters/c1/increments', { by: 1 }, key)).headers.get('idempotent-replayed'),
    'true',
    'within the TTL: replayed',
  );
  now += 2_000;
  const after = await post('/counters/c1/increments', { by: 1 }, key);
  t.is(after.status, 202);
  t.is(after.headers.get('idempotent-replayed'), null, 'past the TTL: a new request');
  t.is(await streamLength('counter-c1'), 3);
  t.deepEqual(
    (await testStore.store.readAll()).filter((event) => event.type.startsWith('Idempotent')),
    [],
  );
});

test('the number of keys is bounded: beyond max_keys the oldest is forgotten first', async (t) => {
  const { records } = await start(t, {}, {}, { maxKeys: 3, pruneEvery: 1 });
  const done = {
    status: 'completed',
    requestHash: 'h',
    response: { format: 'empty', status: 204, headers: {} },
  } as const;
  for (const scope of ['k1', 'k2', 'k3', 'k4']) {
    records.write(scope, done);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  t.is(records.read('k1').status, 'absent', 'the oldest key went first');
  for (const scope of ['k2', 'k3', 'k4']) t.is(records.read(scope).status, 'completed', scope);
});
