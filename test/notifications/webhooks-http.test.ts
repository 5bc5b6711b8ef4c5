import test from 'ava';
import type { Gateway } from '../../src/composition.js';
import { webhookStream } from '../../src/notifications/events.js';
import { webhookFor } from '../../src/notifications/webhook-for.js';
import { sessionStream } from '../../src/sessions/events.js';
import { until } from '../support/eventually.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { startMockSlack } from '../support/mock-slack.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const SECRET = 'webhook-secret-for-tests';
const call = caller(OPERATOR);

/** A task the router is unsure about: the session waits for a person, who gets a routing_suggestion. */
const unsureSession = (project: string, repo = 'api') => ({ category: 'platform', project, repos: [{ name: repo }], task: { title: 'Improve things', description: 'Please have a look.' } });

/** The webhooks a session's history calls for, in its order. */
const expectedIds = async (gateway: Gateway, sessionId: string): Promise<string[]> =>
  (await gateway.eventLog.readStream(sessionStream(sessionId))).flatMap((stored) => webhookFor(stored)?.event_id ?? []);

const setUp = async (t: Parameters<typeof startTestGateway>[0], retry: { retry_attempts: number; retry_delay: number }) => {
  const slack = await startMockSlack(t, SECRET);
  const gateway = await startTestGateway(t, { tokens: `slack:operator:${OPERATOR},grafana:viewer:${VIEWER}`, repos: ['api'], webhooks: { slack_url: slack.url, ...retry }, webhookSecret: SECRET });
  return { slack, gateway };
};

test('webhooks reach Slack signed and in order: a routing suggestion, the workspace, and an unknown repo’s failure', async (t) => {
  const { slack, gateway } = await setUp(t, { retry_attempts: 2, retry_delay: 20 });
  const before = Math.floor(Date.now() / 1000);
  const unsure = (await (await call(gateway, 'POST', '/api/sessions', unsureSession('billing'))).json()) as { session_id: string };
  await slack.waitFor((got) => got.length === 2);
  t.deepEqual(
    slack.deliveries.map((delivery) => [delivery.eventType, delivery.body.session_id]),
    [
      ['routing_suggestion', unsure.session_id],
      ['progress', unsure.session_id],
    ],
  );
  t.deepEqual(slack.deliveries.map((delivery) => delivery.eventId), await expectedIds(gateway, unsure.session_id));
  const [suggestion] = slack.deliveries;
  t.is(suggestion!.headers['idempotency-key'], suggestion!.eventId);
  t.true(Number(suggestion!.headers['x-gateway-timestamp']) >= before);
  t.like(suggestion!.body.data, { suggested: 'party-mode' });
  t.deepEqual(slack.rejected, [], 'every signature checked out');

  const ghost = (await (await call(gateway, 'POST', '/api/sessions', { ...unsureSession('ledger'), repos: [{ name: 'ghost' }] })).json()) as { session_id: string };
  await waitForSessionStatus(call, gateway, ghost.session_id, 'failed');
  await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'session_closed'));
  const closed = slack.deliveries.find((delivery) => delivery.eventType === 'session_closed')!;
  t.is(closed.body.session_id, ghost.session_id);
  t.like(closed.body.data, { status: 'failed' });
  t.regex(String(closed.body.data['reason']), /repo ghost is neither cloned under .* nor given a url/);
});

test('a receiver that fails twice gets the webhook on the third try, once', async (t) => {
  const { slack, gateway } = await setUp(t, { retry_attempts: 2, retry_delay: 20 });
  slack.failNext(2);
  const session = (await (await call(gateway, 'POST', '/api/sessions', unsureSession('billing'))).json()) as { session_id: string };
  await slack.waitFor((got) => got.length === 2);
  t.deepEqual(slack.deliveries.map((delivery) => delivery.eventType), ['routing_suggestion', 'progress']);
  const outcomes = async () => (await gateway.eventLog.readStream(webhookStream(session.session_id))).map((stored) => [stored.event.type, (stored.event.data as { attempts: number }).attempts]);
  await until(async () => (await outcomes()).length === 2, 'two deliveries recorded', 10_000);
  t.deepEqual(await outcomes(), [
    ['WebhookDelivered', 3],
    ['WebhookDelivered', 1],
  ]);
});

test('still failing after the retries: parked, later ones of the session held behind it; a retry sends them all in order', async (t) => {
  const { slack, gateway } = await setUp(t, { retry_attempts: 2, retry_delay: 20 });
  await slack.down();
  const session = (await (await call(gateway, 'POST', '/api/sessions', unsureSession('billing'))).json()) as { session_id: string };
  type Failed = { items: { event_id: string; event_type: string; session_id: string; attempts: number; last_error: string; held_behind: string | null }[] };
  const failed = async () => (await (await call(gateway, 'GET', '/api/webhooks/failed', undefined, {}, VIEWER)).json()) as Failed;
  await until(async () => (await failed()).items.length === 2, 'two parked webhooks', 10_000);
  const [head, held] = (await failed()).items;
  t.like(head, { event_type: 'routing_suggestion', session_id: session.session_id, attempts: 3, held_behind: null });
  t.regex(head!.last_error, /could not be reached/);
  t.like(held, { event_type: 'progress', attempts: 0, held_behind: head!.event_id });

  t.is((await call(gateway, 'POST', '/api/webhooks/failed/nope/retry')).status, 404);
  t.is((await call(gateway, 'POST', `/api/webhooks/failed/${head!.event_id}/retry`, undefined, {}, VIEWER)).status, 403);
  await slack.up();
  const retried = await call(gateway, 'POST', `/api/webhooks/failed/${head!.event_id}/retry`);
  t.is(retried.status, 202);
  t.like(await retried.json(), { event_id: head!.event_id });
  await slack.waitFor((got) => got.length === 2);
  t.deepEqual(slack.deliveries.map((delivery) => delivery.eventId), await expectedIds(gateway, session.session_id), 'in the session’s order');
  await until(async () => (await failed()).items.length === 0, 'no parked webhook', 10_000);
  t.pass();
});

test('a restart during an outage loses nothing: every webhook arrives once per id, in order', async (t) => {
  const { slack, gateway } = await setUp(t, { retry_attempts: 5, retry_delay: 300 });
  await slack.down();
  const first = (await (await call(gateway, 'POST', '/api/sessions', unsureSession('billing'))).json()) as { session_id: string };
  await waitForSessionStatus(call, gateway, first.session_id, 'awaiting_route');
  await new Promise((resolve) => setTimeout(resolve, 400)); // the notifier is between retries now
  await slack.up();
  const restarted = await gateway.restart();
  const second = (await (await call(restarted, 'POST', '/api/sessions', unsureSession('ledger'))).json()) as { session_id: string };
  await slack.waitFor((got) => got.length >= 4);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const ids = slack.deliveries.map((delivery) => delivery.eventId);
  t.deepEqual(ids, [...(await expectedIds(restarted, first.session_id)), ...(await expectedIds(restarted, second.session_id))]);
  t.is(new Set(ids).size, ids.length, 'once per id');
});
