import test, { type ExecutionContext } from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import type { Gateway } from '../../src/composition.js';
import { deploymentDecider } from '../../src/deployments/decider.js';
import { deploymentStream } from '../../src/deployments/events.js';
import { sessionDecider } from '../../src/sessions/decider.js';
import { sessionStream } from '../../src/sessions/events.js';
import { caller, openUnsureSession } from '../support/gateway-client.js';
import { labSession } from '../support/lab-session.js';
import { pressSlackButton } from '../support/slack-button.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const SIGNING_SECRET = 'slack-signing-secret-for-stale-clicks';
const call = caller(OPERATOR);
const ANN = { id: 'U42', username: 'ann' };
const BOB = { id: 'U43', username: 'bob' };
/** Every stale click is carol's: the log must hold nothing of hers. */
const CAROL = { id: 'U44', username: 'carol' };

const start = (t: ExecutionContext) =>
  startTestGateway(t, { tokens: `slack:operator:${OPERATOR}`, repos: ['api'], slackSigningSecret: SIGNING_SECRET });

const press = (gateway: Gateway, value: string, user = CAROL) =>
  pressSlackButton(gateway.url, value, { secret: SIGNING_SECRET, user });

/** A choice in a select menu or a radio group, posted as Slack posts it: the value is `selected_option.value`. */
const choose = (gateway: Gateway, type: 'static_select' | 'radio_buttons', value: string, user = ANN) => {
  const payload = {
    type: 'block_actions',
    user,
    team: { id: 'T1' },
    actions: [
      {
        type,
        action_id: 'gateway',
        block_id: 'choice',
        selected_option: { text: { type: 'plain_text', text: 'The choice' }, value },
        action_ts: '1732700000.000100',
      },
    ],
  };
  return pressSlackButton(gateway.url, '', {
    secret: SIGNING_SECRET,
    raw: `payload=${encodeURIComponent(JSON.stringify(payload))}`,
  });
};

/** The ephemeral message of a stale click: 200, only for the person who clicked. */
const ephemeralText = async (t: ExecutionContext, response: Response): Promise<string> => {
  t.is(response.status, 200);
  const body = (await response.json()) as { response_type: string; text: string };
  t.is(body.response_type, 'ephemeral');
  return body.text;
};

const carolsEvents = async (gateway: Gateway) =>
  (await gateway.eventLog.readAll()).filter((stored) => stored.metadata.actor === 'slack:carol');

/** The agent's question, asked as the agent asks it. */
const ask = async (gateway: Gateway, sessionId: string, questionId: string) => {
  const asked = await handleCommand(
    gateway.eventLog,
    sessionStream(sessionId),
    sessionDecider,
    { type: 'AskQuestion', questionId, text: 'Which year?', options: ['2025', '2026'], now: new Date() },
    { actor: 'pm:agents', correlationId: 'c', causationId: 'e', now: new Date() },
  );
  if (E.isLeft(asked)) throw new Error(JSON.stringify(asked.left));
};

const AT_TIME = /at \d\d:\d\d UTC/;

test('a select menu and a radio group act as buttons do; a stale route or answer click is told who did it, and appends nothing', async (t) => {
  const gateway = await start(t);
  const session = await openUnsureSession(call, gateway);
  const routed = await choose(gateway, 'static_select', `confirm_route:${session.session_id}:builder`);
  t.is(routed.status, 202, 'the select menu’s value acts');
  t.like(await routed.json(), { route: { confirmed: 'builder', confirmed_by: 'slack:ann' } });

  await ask(gateway, session.session_id, 'q-1');
  const answered = await choose(gateway, 'radio_buttons', `answer:${session.session_id}:q-1:2026`);
  t.is(answered.status, 202, 'the radio group’s value acts');
  t.like(await answered.json(), { pending_question: null });
  const history = await gateway.eventLog.readStream(sessionStream(session.session_id));
  t.like(history.find((stored) => stored.event.type === 'QuestionAnswered')?.event.data, {
    question_id: 'q-1',
    answer: '2026',
    answered_by: 'slack:ann',
  });

  const route = await ephemeralText(t, await press(gateway, `confirm_route:${session.session_id}:architect`));
  t.regex(route, /^The route of this session was already confirmed \(builder\) by ann at \d\d:\d\d UTC\.$/);
  const again = await ephemeralText(
    t,
    await choose(gateway, 'radio_buttons', `answer:${session.session_id}:q-1:2025`, CAROL),
  );
  t.regex(again, /^This question was already answered by ann at \d\d:\d\d UTC: “2026”\.$/);

  // A question left waiting when the session is closed.
  await ask(gateway, session.session_id, 'q-2');
  const closed = await call(gateway, 'POST', `/api/sessions/${session.session_id}/close`, { reason: 'done <for now>' });
  t.is(closed.status, 202);
  const late = await ephemeralText(t, await press(gateway, `answer:${session.session_id}:q-2:2025`));
  t.regex(late, /^This session was closed by slack at \d\d:\d\d UTC: “done &lt;for now&gt;”\.$/, 'escaped for mrkdwn');

  const gone = await ephemeralText(t, await press(gateway, 'confirm_route:no-such-session:builder'));
  t.is(gone, 'There is no session no-such-session on this gateway (any more); nothing was done.');
  t.deepEqual(await carolsEvents(gateway), [], 'no stale click appended anything');
});

test('a second click on a confirmed, rejected or expired deployment is told who did it and when, and appends nothing', async (t) => {
  const gateway = await start(t);
  const session = await labSession(call, gateway, 'billing');
  const plan = async () =>
    (await (
      await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id })
    ).json()) as DeploymentView;

  const rejected = await plan();
  t.is((await press(gateway, `reject_deployment:${rejected.deployment_id}`, ANN)).status, 202);
  const rejectedBefore = await gateway.eventLog.readStream(deploymentStream(rejected.deployment_id));
  const afterReject = await ephemeralText(t, await press(gateway, `confirm_deployment:${rejected.deployment_id}`));
  t.regex(afterReject, /^This deployment was already rejected by ann at \d\d:\d\d UTC\.$/);
  t.deepEqual(await gateway.eventLog.readStream(deploymentStream(rejected.deployment_id)), rejectedBefore);

  const expired = await plan();
  const later = new Date(Date.now() + 48 * 3600_000);
  const expiry = await handleCommand(
    gateway.eventLog,
    deploymentStream(expired.deployment_id),
    deploymentDecider,
    { type: 'ExpireDeployment', now: later },
    { actor: 'deadlines', correlationId: 'c', causationId: 'e', now: later },
  );
  if (E.isLeft(expiry)) throw new Error(JSON.stringify(expiry.left));
  const afterExpiry = await ephemeralText(t, await press(gateway, `confirm_deployment:${expired.deployment_id}`));
  t.regex(afterExpiry, /^This deployment expired at \d{4}-\d\d-\d\d \d\d:\d\d UTC before anyone confirmed it/);

  const confirmed = await plan();
  t.is((await press(gateway, `confirm_deployment:${confirmed.deployment_id}`, BOB)).status, 202);
  for (const value of [
    `confirm_deployment:${confirmed.deployment_id}`,
    `reject_deployment:${confirmed.deployment_id}`,
  ]) {
    const text = await ephemeralText(t, await press(gateway, value));
    t.regex(text, /^This deployment was already confirmed by bob /, value);
    t.regex(text, AT_TIME);
  }
  const confirmations = (await gateway.eventLog.readStream(deploymentStream(confirmed.deployment_id))).filter(
    (stored) => stored.event.type === 'DeploymentConfirmed' || stored.event.type === 'DeploymentRejected',
  );
  t.is(confirmations.length, 1, 'confirmed once, never rejected');

  const unknown = await ephemeralText(t, await press(gateway, 'confirm_deployment:no-such-deployment'));
  t.is(unknown, 'There is no deployment no-such-deployment on this gateway (any more); nothing was done.');
  t.deepEqual(await carolsEvents(gateway), [], 'no stale click appended anything');
});

test('an action with neither a value nor a selected option is a 400 naming the field', async (t) => {
  const gateway = await start(t);
  const payload = { type: 'block_actions', user: ANN, actions: [{ type: 'static_select', action_id: 'gateway' }] };
  const response = await pressSlackButton(gateway.url, '', {
    secret: SIGNING_SECRET,
    raw: `payload=${encodeURIComponent(JSON.stringify(payload))}`,
  });
  t.is(response.status, 400);
  t.deepEqual(
    ((await response.json()) as { errors: { path: string }[] }).errors.map((error) => error.path),
    ['payload.actions[0].value'],
  );
  const badChoice = await choose(gateway, 'static_select', 'launch_rockets:now');
  t.is(badChoice.status, 400);
  t.deepEqual(
    ((await badChoice.json()) as { errors: { path: string }[] }).errors.map((error) => error.path),
    ['payload.actions[0].selected_option.value'],
  );
});
