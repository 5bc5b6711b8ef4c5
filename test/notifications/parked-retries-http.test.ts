import test from 'ava';
import type { Gateway } from '../../src/composition.js';
import { webhookStream, type WebhookEvent } from '../../src/notifications/events.js';
import { until } from '../support/eventually.js';
import { caller } from '../support/gateway-client.js';
import { startMockSlack } from '../support/mock-slack.js';
import { startTestGateway, type TestGatewayOptions } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const SECRET = 'webhook-secret-for-tests';
const call = caller(OPERATOR);

/** A task the router is unsure about: two webhooks, a routing_suggestion and the workspace's progress. */
const unsureSession = {
  category: 'platform',
  project: 'billing',
  repos: [{ name: 'api' }],
  task: { title: 'Improve things', description: 'Please have a look.' },
};

type Failed = { items: { event_id: string; event_type: string }[] };

/** A gateway that parks at the first failure and retries parked webhooks every second for `forSeconds`. */
const setUp = async (
  t: Parameters<typeof startTestGateway>[0],
  forSeconds: number,
  options: Partial<TestGatewayOptions> = {},
) => {
  const slack = await startMockSlack(t, SECRET);
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    webhooks: {
      slack_url: slack.url,
      retry_attempts: 0,
      retry_delay: 10,
      parked_retry_interval: 1,
      parked_retry_for: forSeconds,
    },
    webhookSecret: SECRET,
    deadlineIntervalMs: 100,
    ...options,
  });
  return { slack, gateway };
};

const failedOn = async (gateway: Gateway) =>
  ((await (await call(gateway, 'GET', '/api/webhooks/failed')).json()) as Failed).items;

const retryRequests = async (gateway: Gateway, sessionId: string) =>
  (await gateway.eventLog.readStream<WebhookEvent>(webhookStream(sessionId))).flatMap((stored) =>
    stored.event.type === 'WebhookRetryRequested' ? [stored.event.data] : [],
  );

test('parked webhooks are sent again on schedule once the receiver is back, the schedule going on after a restart', async (t) => {
  const { slack, gateway } = await setUp(t, 3600);
  slack.refuse();
  const session = (await (await call(gateway, 'POST', '/api/sessions', unsureSession)).json()) as {
    session_id: string;
  };
  await until(async () => (await failedOn(gateway)).length === 2, 'both webhooks parked', 10_000);
  const restarted = await gateway.restart();
  slack.accept();
  // Nobody asks: the schedule sends them.
  await slack.waitFor((got) => got.length === 2);
  // Each parked webhook keeps its own schedule, so they may come in either order: their numbers tell it.
  const bySequence = [...slack.deliveries].sort((a, b) => a.body.sequence - b.body.sequence);
  t.deepEqual(
    bySequence.map((delivery) => [delivery.eventType, delivery.body.sequence]),
    [
      ['routing_suggestion', 1],
      ['progress', 2],
    ],
  );
  t.true(slack.deliveries.every((delivery) => delivery.headers['idempotency-key'] === delivery.eventId));
  await until(async () => (await failedOn(restarted)).length === 0, 'nothing parked any more', 10_000);
  const requests = await retryRequests(restarted, session.session_id);
  t.true(requests.length >= 2);
  t.true(
    requests.every((request) => request.requested_by === 'timer'),
    'every retry was the schedule’s',
  );
});

test('a webhook parked longer than parked_retry_for stays parked and listed; a retry on request still sends it', async (t) => {
  // The schedule's clock runs two hours ahead: every webhook is past its hour of scheduled retries as soon as it is parked.
  let looks = 0;
  const { slack, gateway } = await setUp(t, 3600, {
    deadlineClock: () => {
      looks++;
      return new Date(Date.now() + 2 * 3600_000);
    },
  });
  slack.refuse();
  const session = (await (await call(gateway, 'POST', '/api/sessions', unsureSession)).json()) as {
    session_id: string;
  };
  await until(async () => (await failedOn(gateway)).length === 2, 'both webhooks parked', 10_000);
  slack.accept();
  // Two more looks at the clock: a whole round of the timer ran after both were listed.
  const seen = looks;
  await until(() => looks >= seen + 2, 'the timer went round', 10_000);
  t.deepEqual(await retryRequests(gateway, session.session_id), [], 'the schedule asked for nothing');
  t.deepEqual(slack.deliveries, []);
  const parked = await failedOn(gateway);
  t.deepEqual(
    parked.map((item) => item.event_type),
    ['routing_suggestion', 'progress'],
  );

  t.is((await call(gateway, 'POST', `/api/webhooks/failed/${parked[0]!.event_id}/retry`)).status, 202);
  await slack.waitFor((got) => got.length === 1);
  t.like(slack.deliveries[0]!.body, { event_id: parked[0]!.event_id, sequence: 1 });
  await until(async () => (await failedOn(gateway)).length === 1, 'the other one still parked', 10_000);
  t.is((await failedOn(gateway))[0]!.event_id, parked[1]!.event_id);
});
