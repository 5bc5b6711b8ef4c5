import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import type { SessionView } from '../../src/sessions/session-view.js';
import { deploymentStream } from '../../src/deployments/events.js';
import { sessionStream } from '../../src/sessions/events.js';
import { eventually, until } from '../support/eventually.js';
import { caller } from '../support/gateway-client.js';
import { labSession, NODE_APP } from '../support/lab-session.js';
import { startMockSlack } from '../support/mock-slack.js';
import { connectSse } from '../support/sse-client.js';
import { startTestGateway, type TestGatewayOptions } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const SECRET = 'webhook-secret-for-tests';
const call = caller(OPERATOR);
const TOKENS = `slack:operator:${OPERATOR},grafana:viewer:${VIEWER}`;

const gatewayWith = (t: Parameters<typeof startTestGateway>[0], options: Partial<TestGatewayOptions> = {}) =>
  startTestGateway(t, { tokens: TOKENS, repos: ['api', 'web'], ...options });

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

test('a deployment request answers with its plan, asks Slack to confirm, and shows in the session', async (t) => {
  const slack = await startMockSlack(t, SECRET);
  const gateway = await gatewayWith(t, {
    webhooks: { slack_url: slack.url, retry_attempts: 1, retry_delay: 10 },
    webhookSecret: SECRET,
  });
  const session = await labSession(call, gateway, 'billing');
  const response = await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id });
  t.is(response.status, 202);
  const view = await json<DeploymentView>(response);
  t.is(response.headers.get('location'), `/api/deployments/${view.deployment_id}`);
  t.is(response.headers.get('etag'), `"${view.revision}"`);
  t.like(view, {
    session_id: session.session_id,
    branch: 'builder/lab-billing',
    status: 'awaiting_confirmation',
    url: null,
    tests: null,
    error: null,
  });
  t.like(view.plan, {
    namespace: 'billing-lab',
    strategy: 'configmap_pvc',
    url: 'https://billing.builder.lab.ctoaas.co',
    runtime: { kind: 'node', image: 'node:20-slim' },
  });
  t.deepEqual(view.plan.steps, [
    'namespace',
    'rbac',
    'configmaps',
    'pvcs',
    'manifests',
    'ingress',
    'pods_ready',
    'tests',
  ]);
  t.is(
    view.plan.configmaps.reduce((sum, bundle) => sum + bundle.files, 0),
    Object.keys(NODE_APP).length + 1,
    'every file of the branch (the README too) and nothing else',
  );
  t.deepEqual(view.plan.pvcs, []);
  // What the agent wrote and did not commit is deployed too: the gateway commits it on the builder branch first.
  await writeFile(join(session.repos[0]!.worktree_path!, 'CHANGELOG.md'), 'Footer fixed.\n');
  const withWork = await json<DeploymentView>(
    await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id }),
  );
  t.is(
    withWork.plan.configmaps.reduce((sum, bundle) => sum + bundle.files, 0),
    Object.keys(NODE_APP).length + 2,
  );
  t.regex(
    await simpleGit(session.repos[0]!.worktree_path!).raw(['log', '-1', '--format=%an: %s']),
    /^AI Dev Gateway: Snapshot of the agent's work/,
  );
  t.true(view.steps.every((step) => step.status === 'pending'));
  t.truthy(view.expires_at);

  await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'deployment_confirmation_requested'));
  const asked = slack.deliveries.find((delivery) => delivery.eventType === 'deployment_confirmation_requested')!;
  t.like(asked.body, { session_id: session.session_id, deployment_id: view.deployment_id });
  t.like(asked.body.data, { plan: { namespace: 'billing-lab' }, expires_at: view.expires_at });

  const sessionView = await eventually(async () => {
    const latest = await json<SessionView>(await call(gateway, 'GET', `/api/sessions/${session.session_id}`));
    return latest.deployments.length === 2 ? latest : undefined;
  }, 'the session to list its deployments');
  t.deepEqual(sessionView.deployments, [view.deployment_id, withWork.deployment_id]);
  const events = await connectSse(`${gateway.url}/api/sessions/${session.session_id}/events?from=0`, VIEWER);
  t.teardown(events.close);
  await until(
    () => events.frames.some((frame) => frame.event === 'deployment'),
    'the session’s SSE to tell of the deployment',
  );
  t.deepEqual(JSON.parse(events.frames.find((frame) => frame.event === 'deployment')!.data!), {
    deployment_id: view.deployment_id,
    status: 'awaiting_confirmation',
  });
  t.deepEqual(
    await json<DeploymentView>(
      await call(gateway, 'GET', `/api/deployments/${view.deployment_id}`, undefined, {}, VIEWER),
    ),
    { ...view, revision: view.revision },
  );
});

test('bad deployment requests are refused with the reason and change nothing', async (t) => {
  const gateway = await gatewayWith(t);
  const session = await labSession(call, gateway, 'billing');
  const problem = async (body: unknown, status: number, token = OPERATOR) => {
    const response = await call(gateway, 'POST', '/api/deployments', body, {}, token);
    t.is(response.status, status, JSON.stringify(body));
    t.is(response.headers.get('content-type'), 'application/problem+json');
    return json<{ detail: string; errors?: { path: string; message: string }[] }>(response);
  };
  t.deepEqual((await problem({ branch: '', repo: 'Not A Slug' }, 400)).errors?.map((error) => error.path).sort(), [
    'branch',
    'repo',
    'session_id',
  ]);
  t.regex((await problem({ session_id: 'nope' }, 404)).detail, /no session nope/);
  t.deepEqual(
    (await problem({ session_id: session.session_id, repo: 'web' }, 400)).errors?.map((error) => error.path),
    ['repo'],
  );
  t.deepEqual(
    (await problem({ session_id: session.session_id, branch: 'no-such-branch' }, 400)).errors?.map(
      (error) => error.path,
    ),
    ['branch'],
  );
  t.deepEqual(
    (await problem({ session_id: session.session_id, branch: '--upload-pack=evil' }, 400)).errors?.map(
      (error) => error.path,
    ),
    ['branch'],
  );
  await problem({ session_id: session.session_id }, 403, VIEWER);
  // A branch with nothing that says how to run it.
  const bare = await gatewayWith(t);
  const plain = await labSession(call, bare, 'notes', { 'notes.txt': 'just text\n' });
  const refused = await call(bare, 'POST', '/api/deployments', { session_id: plain.session_id });
  t.is(refused.status, 409);
  t.regex((await json<{ detail: string }>(refused)).detail, /cannot tell how to run this repository/);
  const closed = await call(gateway, 'POST', `/api/sessions/${session.session_id}/close`, {});
  t.is(closed.status, 202);
  t.regex((await problem({ session_id: session.session_id }, 409)).detail, /session is closed/);
  t.deepEqual(
    (await json<{ items: unknown[] }>(await call(gateway, 'GET', '/api/deployments'))).items,
    [],
    'nothing was planned',
  );
});

test('confirm and reject answer a plan once; two concurrent confirms start one execution', async (t) => {
  const gateway = await gatewayWith(t);
  const session = await labSession(call, gateway, 'billing');
  const plan = async () =>
    json<DeploymentView>(await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id }));
  const first = await plan();
  const confirms = await Promise.all(
    [1, 2].map(() =>
      call(gateway, 'POST', `/api/deployments/${first.deployment_id}/confirm`, { confirmed_by: 'U123' }),
    ),
  );
  t.deepEqual(confirms.map((response) => response.status).sort(), [202, 409]);
  const conflict = await json<{ detail: string }>(confirms.find((response) => response.status === 409)!);
  t.regex(
    conflict.detail,
    /the deployment is (confirmed|deploying)/,
    'the second confirm finds the first one’s work started',
  );
  const confirmed = (await gateway.eventLog.readStream(deploymentStream(first.deployment_id))).filter(
    (stored) => stored.event.type === 'DeploymentConfirmed',
  );
  t.is(confirmed.length, 1);
  t.like(confirmed[0]!.event.data, { confirmed_by: 'U123' });
  t.is(
    (await call(gateway, 'POST', `/api/deployments/${first.deployment_id}/reject`, {})).status,
    409,
    'too late to reject',
  );

  const second = await plan();
  const rejected = await call(gateway, 'POST', `/api/deployments/${second.deployment_id}/reject`, {
    reason: 'wrong branch',
  });
  t.is(rejected.status, 202);
  t.like(await json<DeploymentView>(rejected), { status: 'rejected', error: 'wrong branch' });
  t.is((await call(gateway, 'POST', `/api/deployments/${second.deployment_id}/confirm`, {})).status, 409);
  t.is((await call(gateway, 'POST', '/api/deployments/unknown/confirm', {})).status, 404);
  const stale = await call(
    gateway,
    'POST',
    `/api/deployments/${second.deployment_id}/reject`,
    {},
    { 'if-match': '"0"' },
  );
  t.is(stale.status, 412);

  const list = async (query: string) =>
    (await json<{ items: DeploymentView[] }>(await call(gateway, 'GET', `/api/deployments${query}`))).items.map(
      (view) => view.deployment_id,
    );
  t.deepEqual(await list(''), [first.deployment_id, second.deployment_id]);
  t.deepEqual(await list('?status=rejected'), [second.deployment_id]);
  t.deepEqual(await list(`?session_id=${session.session_id}&status=awaiting_confirmation`), []);
  t.deepEqual(await list('?session_id=other'), []);
  t.is((await call(gateway, 'GET', '/api/deployments?status=sleeping')).status, 400);
  const before = await json<DeploymentView>(
    await call(
      gateway,
      'GET',
      `/api/deployments/${second.deployment_id}?as_of=${encodeURIComponent(second.created_at)}`,
    ),
  );
  t.is(before.status, 'awaiting_confirmation', 'as_of shows the view as it stood then');
  t.is((await call(gateway, 'GET', '/api/deployments/unknown')).status, 404);
  const noResults = await call(gateway, 'GET', `/api/deployments/${second.deployment_id}/tests`);
  t.is(noResults.status, 404);
  t.regex((await json<{ detail: string }>(noResults)).detail, /has no test results yet \(it is rejected\)/);
});

test('a plan nobody answers expires at its deadline, after a restart too; the thread hears deployment_failed (expired)', async (t) => {
  const slack = await startMockSlack(t, SECRET);
  const gateway = await gatewayWith(t, {
    deployment: { confirmation_timeout: 1 },
    deadlineIntervalMs: 50,
    webhooks: { slack_url: slack.url, retry_attempts: 1, retry_delay: 10 },
    webhookSecret: SECRET,
  });
  const session = await labSession(call, gateway, 'billing');
  const early = await json<DeploymentView>(
    await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id }),
  );
  const expired = await eventually(async () => {
    const view = await json<DeploymentView>(await call(gateway, 'GET', `/api/deployments/${early.deployment_id}`));
    return view.status === 'expired' ? view : undefined;
  }, 'the plan to expire');
  t.is(expired.expires_at, null);
  t.is((await call(gateway, 'POST', `/api/deployments/${early.deployment_id}/confirm`, {})).status, 409);
  const timeline = await gateway.eventLog.readStream(deploymentStream(early.deployment_id));
  const expiry = timeline.find((stored) => stored.event.type === 'DeploymentExpired')!;
  t.is(expiry.metadata.actor, 'timer');
  await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'deployment_failed'));
  t.like(slack.deliveries.find((delivery) => delivery.eventType === 'deployment_failed')!.body, {
    deployment_id: early.deployment_id,
    data: { status: 'expired', step: null },
  });
  t.is(
    expiry.metadata.correlation_id,
    timeline[0]!.metadata.correlation_id,
    'the expiry is part of the request’s story',
  );

  // The deadline passes while no gateway runs: the next one fires it.
  const waiting = await json<DeploymentView>(
    await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id }),
  );
  await gateway.stop();
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const next = await gateway.restart();
  await eventually(
    async () =>
      (await json<DeploymentView>(await call(next, 'GET', `/api/deployments/${waiting.deployment_id}`))).status ===
        'expired' || undefined,
    'the plan to expire after the restart',
  );
  // The session hears of the expiry from a process manager, after the deployment's own stream.
  const heard = await eventually(async () => {
    const history = await next.eventLog.readStream(sessionStream(session.session_id));
    const statuses = history
      .filter((stored) => stored.event.type === 'DeploymentStatusChanged')
      .map((stored) => stored.event.data as { deployment_id: string; status: string })
      .filter((item) => item.deployment_id === waiting.deployment_id)
      .map((item) => item.status);
    return statuses.includes('expired') ? statuses : undefined;
  }, 'the session to hear of the expiry');
  t.deepEqual(heard, ['awaiting_confirmation', 'expired'], 'the session heard of it once per status');
});
