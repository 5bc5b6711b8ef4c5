import test from 'ava';
import { caller } from '../support/gateway-client.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-disk-reserve-0001';
const call = caller(OPERATOR);

const sessionBody = {
  category: 'billing',
  project: 'ledger',
  repos: [{ name: 'api' }],
  task: { title: 'Add an endpoint', description: '' },
};

const headOf = async (gateway: {
  eventLog: { store: { readAll: (o: object) => Promise<{ position: number }[]> } };
}): Promise<number> => {
  const [head] = await gateway.eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
  return head?.position ?? -1;
};

test('below the disk reserve: new sessions and deployments get 503 with Retry-After and append nothing; /ready is degraded but 200; bad input is still 400', async (t) => {
  // A reserve no disk can meet: the real statfs of the data folder is always below it.
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    minFreeBytes: Number.MAX_SAFE_INTEGER,
  });
  const before = await headOf(gateway);

  const session = await call(gateway, 'POST', '/api/sessions', sessionBody);
  t.is(session.status, 503);
  t.is(session.headers.get('retry-after'), '60');
  t.is(session.headers.get('content-type'), 'application/problem+json');
  const problem = (await session.json()) as { type: string; status: number; detail: string };
  t.is(problem.status, 503);
  t.is(problem.type, 'https://gateway.dev/problems/disk-reserve');
  t.regex(
    problem.detail,
    /free on the event log's file system, below the reserve of .* \(event_store\.min_free_bytes\); work under way goes on/,
  );

  const deployment = await call(gateway, 'POST', '/api/deployments', { session_id: 'any-session' });
  t.is(deployment.status, 503);
  t.is(deployment.headers.get('retry-after'), '60');

  const invalid = await call(gateway, 'POST', '/api/sessions', { ...sessionBody, project: 'Not A Slug' });
  t.is(invalid.status, 400, 'bad input is named first, whatever the disk');

  t.is(await headOf(gateway), before, 'nothing was appended');
  const list = (await (await call(gateway, 'GET', '/api/sessions')).json()) as { items: unknown[] };
  t.deepEqual(list.items, []);

  const ready = await fetch(`${gateway.url}/ready`);
  t.is(ready.status, 200, 'the API still serves: a readiness probe must not take it away');
  const body = (await ready.json()) as { status: string; checks: Record<string, string> };
  t.is(body.status, 'degraded');
  t.is(body.checks['event_store'], 'ok');
  t.regex(body.checks['disk'] ?? '', /^error: .* free on the event log's file system, below the reserve/);
});

test('with room on the disk: /ready reports the disk ok and /metrics the free bytes', async (t) => {
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    minFreeBytes: 1024,
  });
  const ready = (await (await fetch(`${gateway.url}/ready`)).json()) as {
    status: string;
    checks: Record<string, string>;
  };
  t.is(ready.checks['disk'], 'ok');
  t.is(ready.status, 'ready');
  const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
  const free = /^gateway_event_store_free_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(metrics)?.[1];
  t.truthy(free, 'the gauge is exported');
  t.true(Number(free) > 1024);
  const session = await call(gateway, 'POST', '/api/sessions', sessionBody);
  t.is(session.status, 202);
});
