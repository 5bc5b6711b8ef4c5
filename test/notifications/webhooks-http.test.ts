import test from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import type { Gateway } from '../../src/composition.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import { webhookStream } from '../../src/notifications/events.js';
import { webhookFor } from '../../src/notifications/webhook-for.js';
import { sessionDecider, type SessionCommand } from '../../src/sessions/decider.js';
import { sessionStream } from '../../src/sessions/events.js';
import { until } from '../support/eventually.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { startMockSlack, type Delivery } from '../support/mock-slack.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const SECRET = 'webhook-secret-for-tests';
const call = caller(OPERATOR);
const THREAD = { user: 'U0ANN', channel: 'C0BILLING', thread_ts: '1732700000.000100' };

/** A task the router is unsure about: the session waits for a person, who gets a routing_suggestion. */
const unsureSession = (project: string, repo = 'api') => ({
  category: 'platform',
  project,
  repos: [{ name: repo }],
  task: { title: 'Improve things', description: 'Please have a look.' },
});

/** The webhooks a session's history calls for, in its order. */
const expectedIds = async (gateway: Gateway, sessionId: string): Promise<string[]> =>
  (await gateway.eventLog.readStream(sessionStream(sessionId))).flatMap((stored) => webhookFor(stored)?.event_id ?? []);

/** Event ids of the webhooks the gateway recorded as acknowledged for the session. */
const deliveredIds = async (gateway: Gateway, sessionId: string): Promise<string[]> =>
  (await gateway.eventLog.readStream(webhookStream(sessionId))).flatMap((stored) =>
    stored.event.type === 'WebhookDelivered' ? [(stored.event.data as { event_id: string }).event_id] : [],
  );

const of = (deliveries: readonly Delivery[], sessionId: string) =>
  deliveries.filter((delivery) => delivery.body.session_id === sessionId);

/** A command as the agents' process manager records it. */
const record = async (gateway: Gateway, sessionId: string, command: SessionCommand): Promise<void> => {
  const result = await handleCommand(gateway.eventLog, sessionStream(sessionId), sessionDecider, command, {
    actor: 'pm:agents',
    correlationId: 'c-1',
    causationId: 'e-1',
    now: new Date(),
  });
  if (E.isLeft(result)) throw new Error(JSON.stringify(result.left));
};

type Failed = {
  items: {
    event_id: string;
    event_type: string;
    session_id: string;
    attempts: number;
    last_error: string;
    held_behind: string | null;
    revision: number;
  }[];
};

const setUp = async (
  t: Parameters<typeof startTestGateway>[0],
  retry: { retry_attempts: number; retry_delay: number },
) => {
  const slack = await startMockSlack(t, SECRET);
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR},grafana:viewer:${VIEWER}`,
    repos: ['api'],
    webhooks: { slack_url: slack.url, ...retry },
    webhookSecret: SECRET,
  });
  const failed = async () =>
    (await (await call(gateway, 'GET', '/api/webhooks/failed', undefined, {}, VIEWER)).json()) as Failed;
  return { slack, gateway, failed };
};

test('webhooks reach Slack signed and in order, numbered 1, 2, 3 per session, naming who asked; a failed workspace is session_failed', async (t) => {
  const { slack, gateway } = await setUp(t, { retry_attempts: 2, retry_delay: 20 });
  const before = Math.floor(Date.now() / 1000);
  const unsure = (await (
    await call(gateway, 'POST', '/api/sessions', { ...unsureSession('billing'), requested_by: THREAD })
  ).json()) as { session_id: string };
  await slack.waitFor((got) => got.length === 2);
  t.deepEqual(
    slack.deliveries.map((delivery) => [delivery.eventType, delivery.body.session_id, delivery.body.sequence]),
    [
      ['routing_suggestion', unsure.session_id, 1],
      ['progress', unsure.session_id, 2],
    ],
  );
  t.deepEqual(
    slack.deliveries.map((delivery) => delivery.eventId),
    await expectedIds(gateway, unsure.session_id),
  );
  t.true(
    slack.deliveries.every((delivery) => JSON.stringify(delivery.body.requested_by) === JSON.stringify(THREAD)),
    'the Slack thread that asked, on every webhook',
  );
  const [suggestion] = slack.deliveries;
  t.is(suggestion!.headers['idempotency-key'], suggestion!.eventId);
  t.true(Number(suggestion!.headers['x-gateway-timestamp']) >= before);
  t.like(suggestion!.body.data, { suggested: 'party-mode' });
  t.deepEqual(slack.rejected, [], 'every signature checked out');

  const ghost = (await (
    await call(gateway, 'POST', '/api/sessions', { ...unsureSession('ledger'), repos: [{ name: 'ghost' }] })
  ).json()) as { session_id: string };
  await waitForSessionStatus(call, gateway, ghost.session_id, 'failed');
  const expected = await expectedIds(gateway, ghost.session_id);
  await until(
    async () => (await deliveredIds(gateway, ghost.session_id)).length === expected.length,
    'every webhook of the failed session delivered',
    10_000,
  );
  const told = of(slack.deliveries, ghost.session_id);
  t.deepEqual(
    told.map((delivery) => [delivery.eventType, delivery.body.sequence, delivery.body.requested_by]),
    [
      ['routing_suggestion', 1, null],
      ['session_failed', 2, null],
    ],
    'session_failed instead of session_closed, once; nobody named: requested_by null',
  );
  t.deepEqual(Object.keys(told[1]!.body.data), ['error']);
  t.regex(
    String(told[1]!.body.data['error']),
    /^The workspace could not be prepared: repo ghost is neither cloned under .* nor given a url/,
  );
});

test('a failed turn of the agent is an agent_error webhook', async (t) => {
  const { slack, gateway } = await setUp(t, { retry_attempts: 2, retry_delay: 20 });
  const body = {
    category: 'platform',
    project: 'billing',
    repos: [{ name: 'api' }],
    task: { title: 'Fix typo in the footer', description: 'It says Copyrigth.' },
  };
  const session = (await (await call(gateway, 'POST', '/api/sessions', body)).json()) as { session_id: string };
  await waitForSessionStatus(call, gateway, session.session_id, 'active');
  await record(gateway, session.session_id, {
    type: 'RecordTurnFailed',
    messageId: 'msg-1',
    error: 'APIError',
    message: 'the provider said no',
    now: new Date(),
  });
  await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'agent_error'));
  const ids = await expectedIds(gateway, session.session_id);
  const failure = slack.deliveries.find((delivery) => delivery.eventType === 'agent_error')!;
  t.deepEqual(failure.body.data, { message_id: 'msg-1', error: 'APIError', message: 'the provider said no' });
  t.is(failure.body.sequence, ids.indexOf(failure.eventId) + 1);
  t.is(failure.body.session_id, session.session_id);
});

test('a receiver that fails twice gets the webhook on the third try, once', async (t) => {
  const { slack, gateway } = await setUp(t, { retry_attempts: 2, retry_delay: 20 });
  slack.failNext(2);
  const session = (await (await call(gateway, 'POST', '/api/sessions', unsureSession('billing'))).json()) as {
    session_id: string;
  };
  await slack.waitFor((got) => got.length === 2);
  t.deepEqual(
    slack.deliveries.map((delivery) => delivery.eventType),
    ['routing_suggestion', 'progress'],
  );
  const outcomes = async () =>
    (await gateway.eventLog.readStream(webhookStream(session.session_id))).map((stored) => [
      stored.event.type,
      (stored.event.data as { attempts: number }).attempts,
    ]);
  await until(async () => (await outcomes()).length === 2, 'two deliveries recorded', 10_000);
  t.deepEqual(await outcomes(), [
    ['WebhookDelivered', 3],
    ['WebhookDelivered', 1],
  ]);
});

test('a parked webhook does not hold back its session’s later ones: they arrive in order, the gap in their numbers shows; a retry on request sends it with its own number', async (t) => {
  const { slack, gateway, failed } = await setUp(t, { retry_attempts: 2, retry_delay: 20 });
  slack.refuse((body) => body.event_type === 'routing_suggestion');
  const session = (await (
    await call(gateway, 'POST', '/api/sessions', { ...unsureSession('billing'), requested_by: THREAD })
  ).json()) as { session_id: string };
  await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'progress'));
  t.is(
    (
      await call(gateway, 'POST', `/api/sessions/${session.session_id}/route`, {
        route: 'builder',
        confirmed_by: 'ann',
      })
    ).status,
    202,
  );
  await waitForSessionStatus(call, gateway, session.session_id, 'active');
  await record(gateway, session.session_id, {
    type: 'AskQuestion',
    questionId: 'q-1',
    text: 'Which year goes in the footer?',
    options: ['2025', '2026'],
    now: new Date(),
  });
  await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'question'));
  t.deepEqual(
    slack.deliveries.map((delivery) => [delivery.eventType, delivery.body.sequence]),
    [
      ['progress', 2],
      ['question', 3],
    ],
  );
  t.is(slack.refusals.length, 3, 'the routing suggestion was tried three times, then parked');
  await until(async () => (await failed()).items.length > 0, 'the refused webhook listed', 10_000);
  const [suggestion] = (await failed()).items;
  t.like(suggestion, {
    event_type: 'routing_suggestion',
    session_id: session.session_id,
    attempts: 3,
    held_behind: null,
  });
  t.regex(suggestion!.last_error, /the receiver answered 503/);
  t.is((await failed()).items.length, 1, 'only the refused one is parked');

  t.is((await call(gateway, 'POST', '/api/webhooks/failed/nope/retry')).status, 404);
  t.is(
    (await call(gateway, 'POST', `/api/webhooks/failed/${suggestion!.event_id}/retry`, undefined, {}, VIEWER)).status,
    403,
  );
  const stale = await call(gateway, 'POST', `/api/webhooks/failed/${suggestion!.event_id}/retry`, undefined, {
    'If-Match': `"${suggestion!.revision + 1}"`,
  });
  t.is(stale.status, 412, 'If-Match names the parked webhook’s revision, as its ETag does');
  t.is((await failed()).items[0]!.revision, suggestion!.revision, 'a refused retry changes nothing');
  slack.accept();
  const retried = await call(gateway, 'POST', `/api/webhooks/failed/${suggestion!.event_id}/retry`, undefined, {
    'If-Match': `"${suggestion!.revision}"`,
  });
  t.is(retried.status, 202);
  t.is(retried.headers.get('location'), '/api/webhooks/failed');
  const answered = (await retried.json()) as { event_id: string; revision: number };
  t.is(answered.event_id, suggestion!.event_id);
  t.true(answered.revision > suggestion!.revision, 'the answer shows the retry asked for');
  t.is(retried.headers.get('etag'), `"${answered.revision}"`);
  await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'routing_suggestion'));
  const late = slack.deliveries.find((delivery) => delivery.eventType === 'routing_suggestion')!;
  t.like(late.body, { event_id: suggestion!.event_id, sequence: 1, requested_by: THREAD });
  t.is(late.headers['idempotency-key'], suggestion!.event_id);
  t.deepEqual(
    [...slack.deliveries.map((delivery) => delivery.eventId)].sort(),
    [...(await expectedIds(gateway, session.session_id))].sort(),
    'each webhook once',
  );
  await until(async () => (await failed()).items.length === 0, 'no parked webhook', 10_000);
});

test('a restart during an outage loses nothing: every webhook arrives once per id, in order and numbered per session', async (t) => {
  const { slack, gateway } = await setUp(t, { retry_attempts: 5, retry_delay: 300 });
  slack.refuse();
  const first = (await (await call(gateway, 'POST', '/api/sessions', unsureSession('billing'))).json()) as {
    session_id: string;
  };
  await waitForSessionStatus(call, gateway, first.session_id, 'awaiting_route');
  // The first try failed: the notifier waits to try again, the session's later webhook behind it.
  await until(() => slack.refusals.length >= 1, 'a first refused try', 10_000);
  const restarted = await gateway.restart();
  slack.accept();
  const second = (await (await call(restarted, 'POST', '/api/sessions', unsureSession('ledger'))).json()) as {
    session_id: string;
  };
  for (const session of [first, second]) {
    const expected = await expectedIds(restarted, session.session_id);
    await until(
      async () => (await deliveredIds(restarted, session.session_id)).length === expected.length,
      `every webhook of ${session.session_id} delivered`,
      20_000,
    );
    const got = of(slack.deliveries, session.session_id);
    t.deepEqual(
      got.map((delivery) => delivery.eventId),
      expected,
      'once per id, in the session’s order',
    );
    t.deepEqual(
      got.map((delivery) => delivery.body.sequence),
      expected.map((_, index) => index + 1),
    );
  }
});
