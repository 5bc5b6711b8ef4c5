import test from 'ava';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import { eventually } from '../support/eventually.js';
import { startFakeKube } from '../support/fake-kube.js';
import { caller } from '../support/gateway-client.js';
import { labSession } from '../support/lab-session.js';
import { connectSse } from '../support/sse-client.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-many-teams-000001';
const call = caller(OPERATOR);
const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

const plan = async (gateway: Parameters<typeof call>[0], sessionId: string): Promise<DeploymentView> =>
  json<DeploymentView>(await call(gateway, 'POST', '/api/deployments', { session_id: sessionId }));
const viewOf = async (gateway: Parameters<typeof call>[0], id: string): Promise<DeploymentView> =>
  json<DeploymentView>(await call(gateway, 'GET', `/api/deployments/${id}`));

test('one team’s lab stuck waiting for its pods does not hold up another team’s deployment; at its deadline the stuck one fails, naming the step and the pods’ last state', async (t) => {
  t.timeout(120_000);
  const fake = await startFakeKube({
    scenarioFor: ({ namespace }) => (namespace === 'alpha-lab' ? 'pending' : 'ready'),
  });
  t.teardown(() => fake.close());
  let offsetMs = 0;
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    kubeconfig: fake.kubeconfig,
    kubernetes: { pods_ready_timeout: 300 },
    deadlineIntervalMs: 50,
    deadlineClock: () => new Date(Date.now() + offsetMs),
  });
  const alpha = await labSession(call, gateway, 'alpha');
  const beta = await labSession(call, gateway, 'beta');

  // Team A: its pods keep pulling their image.
  const stuck = await plan(gateway, alpha.session_id);
  t.is((await call(gateway, 'POST', `/api/deployments/${stuck.deployment_id}/confirm`, {})).status, 202);
  const progress = await connectSse(`${gateway.url}/api/deployments/${stuck.deployment_id}/progress`, OPERATOR);
  await eventually(
    async () =>
      (await viewOf(gateway, stuck.deployment_id)).steps.find((step) => step.name === 'pods_ready')?.status ===
      'running'
        ? true
        : undefined,
    'team A at pods_ready',
  );

  // Team B deploys another project a moment later: it runs to the end while A waits.
  const other = await plan(gateway, beta.session_id);
  t.is((await call(gateway, 'POST', `/api/deployments/${other.deployment_id}/confirm`, {})).status, 202);
  const done = await eventually(async () => {
    const view = await viewOf(gateway, other.deployment_id);
    return view.status === 'succeeded' || view.status === 'failed' ? view : undefined;
  }, 'team B’s deployment to end');
  t.is(done.status, 'succeeded', done.error ?? '');
  const waiting = await viewOf(gateway, stuck.deployment_id);
  t.is(waiting.status, 'deploying', 'team A is still waiting for its pods');
  t.like(
    waiting.steps.find((step) => step.name === 'pods_ready'),
    { status: 'running' },
  );
  t.regex(
    waiting.steps.find((step) => step.name === 'pods_ready')!.detail ?? '',
    /is Pending \(ContainerCreating\)/,
    'the pods’ state is the step’s news',
  );

  // Five minutes pass (the deadline is in the log, fired by the timer): A fails at its step.
  offsetMs = 301_000;
  const failed = await eventually(async () => {
    const view = await viewOf(gateway, stuck.deployment_id);
    return view.status === 'failed' ? view : undefined;
  }, 'team A’s deployment to fail');
  t.regex(
    failed.error ?? '',
    /^pods_ready: the pods were not ready after 300 s: pod app-\w+ is Pending \(ContainerCreating\)$/,
  );
  t.like(
    failed.steps.find((step) => step.name === 'pods_ready'),
    { status: 'failed' },
  );
  await progress.ended;
  const frames = progress.frames.filter((frame) => frame.event === 'step_complete' || frame.event === 'complete');
  const [stepFailed, complete] = frames.slice(-2);
  t.is(stepFailed?.event, 'step_complete');
  t.like(JSON.parse(stepFailed!.data!), { step: 'pods_ready', status: 'failed' });
  t.is(complete?.event, 'complete');
  t.like(JSON.parse(complete!.data!), { status: 'failed', failed_step: 'pods_ready' });
});

test('a namespace deletion the cluster refuses shows its reason as deletion_error and is tried again until it succeeds', async (t) => {
  t.timeout(120_000);
  let forbidden: string | undefined =
    'User "system:serviceaccount:gateway:gateway-sa" cannot delete resource "namespaces" in API group ""';
  const fake = await startFakeKube({ forbidDelete: ({ kind }) => (kind === 'Namespace' ? forbidden : undefined) });
  t.teardown(() => fake.close());
  let offsetMs = 0;
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    kubeconfig: fake.kubeconfig,
    deadlineIntervalMs: 50,
    deadlineClock: () => new Date(Date.now() + offsetMs),
  });
  const session = await labSession(call, gateway, 'billing');
  const planned = await plan(gateway, session.session_id);
  await call(gateway, 'POST', `/api/deployments/${planned.deployment_id}/confirm`, {});
  await eventually(
    async () => ((await viewOf(gateway, planned.deployment_id)).status === 'succeeded' ? true : undefined),
    'the deployment',
  );

  t.is((await call(gateway, 'DELETE', '/api/namespaces/billing-lab')).status, 202);
  type Listed = { name: string; deletion_error: string | null };
  const refused = await eventually(async () => {
    const [item] = (await json<{ items: Listed[] }>(await call(gateway, 'GET', '/api/namespaces'))).items;
    return item?.deletion_error ? item : undefined;
  }, 'the deletion to fail');
  t.is(refused.deletion_error, `HTTP 403: namespaces "billing-lab" is forbidden: ${forbidden}`);
  t.is(fake.objects('Namespace').length, 1);

  // The operator grants the right; the pause passes; the next try deletes it.
  forbidden = undefined;
  offsetMs = 11_000;
  await eventually(() => (fake.objects('Namespace').length === 0 ? true : undefined), 'the namespace to be deleted');
  await eventually(
    async () =>
      (await json<{ items: Listed[] }>(await call(gateway, 'GET', '/api/namespaces'))).items.length === 0
        ? true
        : undefined,
    'the list to drop it',
  );
});
