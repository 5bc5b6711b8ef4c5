import test from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import type { Gateway } from '../../src/composition.js';
import { deploymentStream } from '../../src/deployments/events.js';
import { sessionDecider } from '../../src/sessions/decider.js';
import { sessionStream } from '../../src/sessions/events.js';
import { parseAction } from '../../src/slack/actions.js';
import { caller, openUnsureSession } from '../support/gateway-client.js';
import { labSession } from '../support/lab-session.js';
import { pressSlackButton } from '../support/slack-button.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const SIGNING_SECRET = 'slack-signing-secret-for-tests';
const call = caller(OPERATOR);

/** A button press as Slack posts it, signed with the signing secret unless another is given. */
const press = (
  gateway: Gateway,
  value: string,
  options: { secret?: string; ageSeconds?: number; user?: string; raw?: string } = {},
) =>
  pressSlackButton(gateway.url, value, {
    secret: options.secret ?? SIGNING_SECRET,
    user: { id: 'U42', username: options.user ?? 'ann' },
    ...(options.ageSeconds === undefined ? {} : { ageSeconds: options.ageSeconds }),
    ...(options.raw === undefined ? {} : { raw: options.raw }),
  });

const start = (t: Parameters<typeof startTestGateway>[0], slackSigningSecret: string | null = SIGNING_SECRET) =>
  startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    ...(slackSigningSecret === null ? {} : { slackSigningSecret }),
  });

/** The deployment's own history: what a press would change. */
const historyOf = async (gateway: Gateway, deploymentId: string) =>
  (await gateway.eventLog.readStream(deploymentStream(deploymentId))).map((stored) => stored.id);

test('action values parse as the contract says; anything else is refused with the reason', (t) => {
  t.deepEqual(parseAction('confirm_deployment:d-1'), E.right({ kind: 'confirm_deployment', deploymentId: 'd-1' }));
  t.deepEqual(parseAction('reject_deployment:d-1'), E.right({ kind: 'reject_deployment', deploymentId: 'd-1' }));
  t.deepEqual(parseAction('confirm_route:s-1:pm'), E.right({ kind: 'confirm_route', sessionId: 's-1', route: 'pm' }));
  t.deepEqual(
    parseAction('answer:s-1:q-1:at 10:30, please'),
    E.right({ kind: 'answer', sessionId: 's-1', questionId: 'q-1', text: 'at 10:30, please' }),
  );
  for (const bad of [
    'confirm_deployment:',
    'confirm_deployment:a:b',
    'confirm_route:s-1:wizard',
    'answer:s-1:q-1:',
    'deploy:x',
    '',
    'confirm_deployment:../x',
  ])
    t.true(E.isLeft(parseAction(bad)), bad);
});

test('Slack buttons run the same commands as the API, as the person who pressed them', async (t) => {
  const gateway = await start(t);
  // A route to confirm.
  const unsure = await openUnsureSession(call, gateway);
  const routed = await press(gateway, `confirm_route:${unsure.session_id}:builder`);
  t.is(routed.status, 202);
  t.like(await routed.json(), {
    session_id: unsure.session_id,
    status: 'active',
    route: { confirmed: 'builder', confirmed_by: 'slack:ann' },
  });
  const history = await gateway.eventLog.readStream(sessionStream(unsure.session_id));
  t.is(
    history.find((stored) => stored.event.type === 'RouteConfirmed')!.metadata.actor,
    'slack:ann',
    'the audit trail names the person',
  );

  // A question to answer.
  const asked = await handleCommand(
    gateway.eventLog,
    sessionStream(unsure.session_id),
    sessionDecider,
    { type: 'AskQuestion', questionId: 'q-1', text: 'Which year?', options: ['2025', '2026'], now: new Date() },
    { actor: 'pm:agents', correlationId: 'c', causationId: 'e', now: new Date() },
  );
  if (E.isLeft(asked)) throw new Error(JSON.stringify(asked.left));
  const answered = await press(gateway, `answer:${unsure.session_id}:q-1:2026: the new one`);
  t.is(answered.status, 202);
  t.like(await answered.json(), { pending_question: null });
  const answer = (await gateway.eventLog.readStream(sessionStream(unsure.session_id))).find(
    (stored) => stored.event.type === 'QuestionAnswered',
  )!;
  t.like(answer.event.data, { question_id: 'q-1', answer: '2026: the new one', answered_by: 'slack:ann' });
  t.is((await press(gateway, `answer:${unsure.session_id}:q-1:again`)).status, 200, 'answered once: told so in Slack');

  // Deployments to confirm and reject.
  const session = await labSession(call, gateway, 'billing');
  const plan = async () =>
    (await (
      await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id })
    ).json()) as DeploymentView;
  const first = await plan();
  const confirmed = await press(gateway, `confirm_deployment:${first.deployment_id}`, { user: 'bob' });
  t.is(confirmed.status, 202);
  t.like(await confirmed.json(), { deployment_id: first.deployment_id, status: 'confirmed' });
  t.is(
    (await press(gateway, `confirm_deployment:${first.deployment_id}`)).status,
    200,
    'a second press starts nothing (stale-clicks-http.test.ts reads its message)',
  );
  const second = await plan();
  const rejected = await press(gateway, `reject_deployment:${second.deployment_id}`);
  t.is(rejected.status, 202);
  t.like(await rejected.json(), { status: 'rejected' });
  t.is((await press(gateway, 'confirm_deployment:no-such-deployment')).status, 200, 'told in Slack it is not there');
});

test('a wrong, stale or missing signature is 401 and changes nothing; a bad payload is 400 naming it', async (t) => {
  const gateway = await start(t);
  const session = await labSession(call, gateway, 'billing');
  const planned = (await (
    await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id })
  ).json()) as DeploymentView;
  const value = `confirm_deployment:${planned.deployment_id}`;
  const before = await historyOf(gateway, planned.deployment_id);
  const wrong = await press(gateway, value, { secret: 'not-the-secret' });
  t.is(wrong.status, 401);
  t.is(wrong.headers.get('content-type'), 'application/problem+json');
  t.is((await press(gateway, value, { ageSeconds: 330 })).status, 401, 'older than 5 minutes');
  t.is((await press(gateway, value, { ageSeconds: -330 })).status, 401, 'more than 5 minutes ahead');
  const unsigned = await fetch(`${gateway.url}/api/slack/interactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'payload=%7B%7D',
  });
  t.is(unsigned.status, 401);
  t.deepEqual(await historyOf(gateway, planned.deployment_id), before, 'nothing was appended');
  t.like((await (await call(gateway, 'GET', `/api/deployments/${planned.deployment_id}`)).json()) as DeploymentView, {
    status: 'awaiting_confirmation',
  });

  const badJson = await press(gateway, value, { raw: 'payload=%7Bnot json' });
  t.is(badJson.status, 400);
  t.deepEqual(
    ((await badJson.json()) as { errors: { path: string }[] }).errors.map((error) => error.path),
    ['payload'],
  );
  const unknown = await press(gateway, 'launch_rockets:now');
  t.is(unknown.status, 400);
  t.deepEqual(
    ((await unknown.json()) as { errors: { path: string }[] }).errors.map((error) => error.path),
    ['payload.actions[0].value'],
  );
  t.deepEqual(await historyOf(gateway, planned.deployment_id), before);

  const unconfigured = await start(t, null);
  t.is((await press(unconfigured, value)).status, 401, 'no signing secret: nothing can be verified');
});
