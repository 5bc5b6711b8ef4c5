import test from 'ava';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { TestGateway } from '../support/test-gateway.js';
import { caller, openUnsureSession } from '../support/gateway-client.js';
import { pressSlackButton } from '../support/slack-button.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-idempotency-00001';
const SIGNING_SECRET = 'slack-signing-secret-idempotency';
const call = caller(OPERATOR);

const start = (t: Parameters<typeof startTestGateway>[0]) =>
  startTestGateway(t, { tokens: `slack:operator:${OPERATOR}`, repos: ['api'], slackSigningSecret: SIGNING_SECRET });

const head = async (gateway: TestGateway): Promise<number> =>
  (await gateway.eventLog.store.readAll({ direction: 'backwards', maxCount: 1 }))[0]?.position ?? -1;

/** The key records the gateway keeps beside its log (read while it runs: SQLite in WAL mode allows it). */
const recordCount = (gateway: TestGateway): number => {
  const db = new Database(join(gateway.config.data_dir, 'idempotency.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM idempotency_keys').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

const metricOf = async (gateway: TestGateway, name: string): Promise<number> => {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
};

test('nothing unauthenticated, unrouted or pure is written: no event, no key record; a refused request leaves a metric', async (t) => {
  const gateway = await start(t);
  const before = await head(gateway);
  const refusedBefore = await metricOf(gateway, 'gateway_auth_failures_total');
  const key = (n: number) => ({ 'idempotency-key': `attack-${n}` });
  const requests: [string, string, Record<string, string>][] = [
    ['/nope', 'none', key(1)],
    ['/health', 'none', key(2)],
    ['/api/sessions', 'none', key(3)],
    ['/api/sessions', 'not-a-token', key(4)],
    ['/api/slack/interactions', 'none', key(5)],
  ];
  let unauthorized = 0;
  for (const [path, token, headers] of requests) {
    const response = await fetch(`${gateway.url}${path}?${'q=1&'.repeat(50)}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === 'none' ? {} : { authorization: `Bearer ${token}` }),
        ...headers,
      },
      body: '{}',
    });
    t.true(response.status >= 400, `${path}: ${response.status}`);
    if (response.status === 401) unauthorized++;
  }
  t.is(unauthorized, 2, 'no token and a bad token on /api/sessions');
  const analyzed = await call(
    gateway,
    'POST',
    '/api/routing/analyze',
    { title: 'Add a CSV export', description: '' },
    key(6),
  );
  t.is(analyzed.status, 200, 'a pure route answers');
  t.is(await head(gateway), before, 'not one event appended');
  t.is(recordCount(gateway), 0, 'not one key recorded');
  t.is(
    (await metricOf(gateway, 'gateway_auth_failures_total')) - refusedBefore,
    unauthorized,
    'each refused request counted',
  );
});

test('an authenticated command with a key runs once; the key is recorded beside the log, never in it', async (t) => {
  const gateway = await start(t);
  const body = {
    category: 'platform',
    project: 'billing',
    repos: [{ name: 'api' }],
    task: { title: 'Fix typo in the footer', description: 'Copyrigth' },
  };
  const first = await call(gateway, 'POST', '/api/sessions', body, { 'idempotency-key': 'evt-1' });
  t.is(first.status, 202);
  const again = await call(gateway, 'POST', '/api/sessions', body, { 'idempotency-key': 'evt-1' });
  t.is(again.headers.get('idempotent-replayed'), 'true');
  t.deepEqual(await again.json(), await first.json());
  t.is(recordCount(gateway), 1);
  const all = await gateway.eventLog.store.readAll();
  t.deepEqual(
    all.filter((event) => event.type.startsWith('Idempotent') || event.stream.startsWith('idempotency-')),
    [],
  );
});

test('Slack interactions: the key counts only once the signature is verified, and only for the same Slack team and user', async (t) => {
  const gateway = await start(t);
  const unsure = await openUnsureSession(call, gateway);
  const value = `confirm_route:${unsure.session_id}:builder`;
  const headers = { 'idempotency-key': 'slack-retry-1' };

  // A forger sends the key first, unsigned: refused, and the key stays free.
  t.is((await pressSlackButton(gateway.url, value, { secret: 'wrong-secret', headers })).status, 401);
  const signed = await pressSlackButton(gateway.url, value, { secret: SIGNING_SECRET, headers });
  t.is(signed.status, 202, 'the signed request with that key runs (it was a 422 when the key was taken first)');
  const signedBody = await signed.json();

  // An unsigned copy of the signed request does not get its recorded answer.
  const copy = await pressSlackButton(gateway.url, value, { secret: 'wrong-secret', headers });
  t.is(copy.status, 401);
  t.is(copy.headers.get('idempotent-replayed'), null);

  // Slack retrying the signed request gets the first answer; another person's press with that key is their own.
  const retry = await pressSlackButton(gateway.url, value, { secret: SIGNING_SECRET, headers });
  t.is(retry.headers.get('idempotent-replayed'), 'true');
  t.deepEqual(await retry.json(), signedBody);
  const other = await pressSlackButton(gateway.url, value, {
    secret: SIGNING_SECRET,
    headers,
    user: { id: 'U77', username: 'bob' },
  });
  t.is(other.headers.get('idempotent-replayed'), null);
  t.is(other.status, 200, 'bob’s press runs, and is told in Slack that the route was confirmed already');
  t.like(await other.json(), { response_type: 'ephemeral' });
});
