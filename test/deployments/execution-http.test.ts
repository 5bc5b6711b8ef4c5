import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { x as extract } from 'tar';
import { parseAllDocuments } from 'yaml';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import { eventually } from '../support/eventually.js';
import { startFakeKube, type FakeKubeOptions } from '../support/fake-kube.js';
import { caller } from '../support/gateway-client.js';
import { deployToEnd, labSession, NODE_APP } from '../support/lab-session.js';
import { startMockSlack } from '../support/mock-slack.js';
import { startTestGateway, type TestGatewayOptions } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const SECRET = 'webhook-secret-for-tests';
const call = caller(OPERATOR);
const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

const setUp = async (t: ExecutionContext, kube: FakeKubeOptions = {}, options: Partial<TestGatewayOptions> = {}) => {
  const fake = await startFakeKube(kube);
  t.teardown(() => fake.close());
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    kubeconfig: fake.kubeconfig,
    ...options,
  });
  return { fake, gateway };
};

test('a confirmed deployment builds the lab step by step and reports it ready with its URL', async (t) => {
  const slack = await startMockSlack(t, SECRET);
  const { fake, gateway } = await setUp(
    t,
    {},
    { webhooks: { slack_url: slack.url, retry_attempts: 1, retry_delay: 10 }, webhookSecret: SECRET },
  );
  const session = await labSession(call, gateway, 'billing');
  const view = await deployToEnd(call, gateway, session.session_id);
  t.is(view.status, 'succeeded', view.error ?? '');
  t.is(view.url, 'https://billing.builder.lab.ctoaas.co');
  t.deepEqual(
    view.steps.map((step) => [step.name, step.status]),
    [
      ['namespace', 'done'],
      ['rbac', 'done'],
      ['configmaps', 'done'],
      ['pvcs', 'skipped'],
      ['manifests', 'done'],
      ['ingress', 'done'],
      ['pods_ready', 'done'],
      ['tests', 'done'],
    ],
  );
  t.true(view.steps.every((step) => step.started_at !== null && step.finished_at !== null));

  const [namespace] = fake.objects('Namespace');
  t.is(namespace!.metadata.name, 'billing-lab');
  t.is(namespace!.metadata.labels?.['app.kubernetes.io/managed-by'], 'ai-dev-gateway');
  const names = (kind: string) => fake.objects(kind, 'billing-lab').map((object) => object.metadata.name);
  t.deepEqual(names('ServiceAccount'), ['lab']);
  t.deepEqual(names('Role'), ['lab']);
  t.deepEqual(names('RoleBinding'), ['lab']);
  t.deepEqual(names('ResourceQuota'), ['lab-quota']);
  t.deepEqual(names('LimitRange'), ['lab-limits']);
  t.deepEqual(names('ConfigMap'), ['code-0']);
  t.deepEqual(names('PersistentVolumeClaim'), []);
  t.deepEqual(names('Deployment'), ['app']);
  t.deepEqual(names('Service'), ['app']);
  const [ingress] = fake.objects('Ingress', 'billing-lab') as unknown as {
    metadata: { annotations: Record<string, string> };
    spec: { ingressClassName: string; tls: { hosts: string[] }[] };
  }[];
  t.is(ingress!.metadata.annotations['cert-manager.io/cluster-issuer'], 'letsencrypt');
  t.is(ingress!.spec.ingressClassName, 'nginx');
  t.deepEqual(ingress!.spec.tls[0]!.hosts, ['billing.builder.lab.ctoaas.co']);
  t.true(
    [...fake.creations.values()].every((count) => count === 1),
    'nothing was created twice',
  );
  t.is(fake.requests.get('POST ConfigMap'), undefined, 'everything went by server-side apply');

  // The binary file travels as binaryData, every file under its own path.
  const [code] = fake.objects('ConfigMap', 'billing-lab') as unknown as {
    data: Record<string, string>;
    binaryData: Record<string, string>;
  }[];
  t.deepEqual(Buffer.from(Object.values(code!.binaryData)[0]!, 'base64'), NODE_APP['public/logo.png']);
  t.true(Object.values(code!.data).includes(NODE_APP['server.js'] as string));

  // The overlay the steps applied, in the workspace, for a person to inspect or re-apply.
  const overlay = join(session.workspace_path!, '.lab');
  t.deepEqual((await readdir(overlay)).sort(), [
    'configmaps.yaml',
    'ingress.yaml',
    'kustomization.yaml',
    'manifests.yaml',
    'namespace.yaml',
    'rbac.yaml',
  ]);
  const applied = parseAllDocuments(await readFile(join(overlay, 'manifests.yaml'), 'utf8')).map(
    (document) => document.toJS() as { kind: string },
  );
  t.deepEqual(
    applied.map((object) => object.kind),
    ['Deployment', 'Service'],
  );

  await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'deployment_ready'));
  const ready = slack.deliveries.find((delivery) => delivery.eventType === 'deployment_ready')!;
  t.like(ready.body, { deployment_id: view.deployment_id, data: { url: 'https://billing.builder.lab.ctoaas.co' } });
  const namespaces = await json<{ items: unknown[] }>(await call(gateway, 'GET', '/api/namespaces'));
  t.like(namespaces.items, [
    {
      name: 'billing-lab',
      project_id: 'billing',
      url: 'https://billing.builder.lab.ctoaas.co',
      deletion_scheduled_for: null,
    },
  ]);

  // A second deployment of the same lab converges on the same objects.
  const again = await deployToEnd(call, gateway, session.session_id);
  t.is(again.status, 'succeeded');
  t.true(
    [...fake.creations.values()].every((count) => count === 1),
    'a redeployment applies over the same objects',
  );
  t.is((await json<{ items: unknown[] }>(await call(gateway, 'GET', '/api/namespaces'))).items.length, 1);
});

for (const [scenario, reason] of [
  ['crashloop', /container app of pod app-\w+: CrashLoopBackOff/],
  ['image-pull', /ImagePullBackOff \(Back-off pulling image/],
  ['unschedulable', /cannot be scheduled: 0\/3 nodes are available: 3 Insufficient memory/],
] as const) {
  test(`pods that fail with ${scenario} fail the deployment at pods_ready at once, saying why, and leave the namespace`, async (t) => {
    const { fake, gateway } = await setUp(
      t,
      { scenarioFor: () => scenario },
      { kubernetes: { pods_ready_timeout: 600 } },
    );
    const session = await labSession(call, gateway, 'billing');
    const view = await deployToEnd(call, gateway, session.session_id);
    t.is(view.status, 'failed');
    t.regex(view.error!, /^pods_ready: /);
    t.regex(view.error!, reason);
    t.like(
      view.steps.find((step) => step.name === 'pods_ready'),
      { status: 'failed' },
    );
    t.like(
      view.steps.find((step) => step.name === 'tests'),
      { status: 'pending' },
    );
    t.is(fake.objects('Namespace').length, 1, 'left for inspection');
    t.is(fake.objects('Deployment', 'billing-lab').length, 1);
  });
}

test('pods still not ready at the timeout fail the deployment with their last state', async (t) => {
  const { gateway } = await setUp(t, { podDelayMs: 60_000 }, { kubernetes: { pods_ready_timeout: 1 } });
  const session = await labSession(call, gateway, 'billing');
  const view = await deployToEnd(call, gateway, session.session_id);
  t.is(view.status, 'failed');
  t.regex(view.error!, /^pods_ready: the pods were not ready after 1 s: pod app-\w+ is Pending/);
});

test('an object the API server refuses fails the deployment at that step with the server’s message, without retrying; Slack hears deployment_failed, then session_closed', async (t) => {
  const slack = await startMockSlack(t, SECRET);
  const { fake, gateway } = await setUp(
    t,
    {
      refuse: ({ kind }) =>
        kind === 'Ingress' ? 'spec.rules[0].host: Invalid value: "billing.builder.lab.ctoaas.co": taken' : undefined,
    },
    { webhooks: { slack_url: slack.url, retry_attempts: 1, retry_delay: 10 }, webhookSecret: SECRET },
  );
  const session = await labSession(call, gateway, 'billing');
  const view = await deployToEnd(call, gateway, session.session_id);
  t.is(view.status, 'failed');
  t.is(
    view.error,
    'ingress: HTTP 422: Ingress "app" is invalid: spec.rules[0].host: Invalid value: "billing.builder.lab.ctoaas.co": taken',
  );
  t.is(fake.requests.get('PATCH Ingress'), 1, 'a refusal is not retried');
  t.is(view.url, null);
  t.like(
    view.steps.find((step) => step.name === 'manifests'),
    { status: 'done' },
  );
  // What the thread is told, each webhook checked against its schema by mock Slack.
  await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'deployment_failed'));
  const failed = slack.deliveries.find((delivery) => delivery.eventType === 'deployment_failed')!;
  t.like(failed.body, {
    deployment_id: view.deployment_id,
    data: { step: 'ingress', reason: view.error!.replace('ingress: ', '') },
  });
  await call(gateway, 'POST', `/api/sessions/${session.session_id}/close`, { reason: 'the host is taken' });
  await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'session_closed'));
  t.like(slack.deliveries.find((delivery) => delivery.eventType === 'session_closed')!.body.data, {
    status: 'closed',
    reason: 'the host is taken',
    remove_workspace: false,
  });
});

test('a deployment whose worktree is gone fails at its first step, saying so', async (t) => {
  const { fake, gateway } = await setUp(t);
  const session = await labSession(call, gateway, 'billing');
  const planned = await json<DeploymentView>(
    await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id }),
  );
  await rm(session.repos[0]!.worktree_path!, { recursive: true, force: true });
  await call(gateway, 'POST', `/api/deployments/${planned.deployment_id}/confirm`, {});
  const view = await eventually(async () => {
    const latest = await json<DeploymentView>(await call(gateway, 'GET', `/api/deployments/${planned.deployment_id}`));
    return latest.status === 'failed' ? latest : undefined;
  }, 'the deployment to fail');
  t.regex(view.error!, /^namespace: the worktree .* of repo api is gone; open a new session to deploy it$/);
  t.deepEqual(fake.objects('Namespace'), []);
});

test('a repository over 1 MiB is split across ConfigMaps within the size limit and a PVC filled from a signed bundle', async (t) => {
  const { fake, gateway } = await setUp(t);
  const files: Record<string, string | Buffer> = { ...NODE_APP };
  for (let i = 0; i < 12; i++) files[`src/module-${i}.js`] = `// module ${i}\n${'x'.repeat(100 * 1024)}\n`;
  const big = Buffer.alloc(1536 * 1024, 7);
  files['assets/model.bin'] = big;
  const session = await labSession(call, gateway, 'billing', files);
  const view = await deployToEnd(call, gateway, session.session_id);
  t.is(view.status, 'succeeded', view.error ?? '');
  t.true(view.plan.configmaps.length >= 2, `${view.plan.configmaps.length} ConfigMaps`);
  t.like(view.plan.pvcs, [{ name: 'code-large', files: 1, bytes: big.length }]);
  const configMaps = fake.objects('ConfigMap', 'billing-lab');
  t.is(configMaps.length, view.plan.configmaps.length);
  for (const configMap of configMaps)
    t.true(
      Buffer.byteLength(JSON.stringify(configMap)) <= 1048576,
      `${configMap.metadata.name} fits in ${1048576} bytes`,
    );
  t.is(fake.objects('PersistentVolumeClaim', 'billing-lab').length, 1);
  t.like(
    view.steps.find((step) => step.name === 'pvcs'),
    { status: 'done' },
  );

  // The init container's URL serves exactly the large files, without a token.
  const [deployment] = fake.objects('Deployment', 'billing-lab') as unknown as {
    spec: { template: { spec: { initContainers: { env: { name: string; value: string }[] }[] } } };
  }[];
  const env = deployment!.spec.template.spec.initContainers[0]!.env;
  const url = new URL(env.find((variable) => variable.name === 'BUNDLE_URL')!.value);
  const response = await fetch(`${gateway.url}${url.pathname}${url.search}`);
  t.is(response.status, 200);
  const dir = await mkdtemp(join(tmpdir(), 'bundle-'));
  await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), extract({ cwd: dir }));
  t.deepEqual(await readFile(join(dir, 'assets/model.bin')), big);
  t.is(
    (
      await fetch(
        `${gateway.url}${url.pathname}?expires=${url.searchParams.get('expires')}&signature=${'0'.repeat(64)}`,
      )
    ).status,
    403,
  );
});

test('a lab namespace is deleted now, or after N days by a durable timer, and only the gateway’s own', async (t) => {
  let offsetMs = 0;
  const { fake, gateway } = await setUp(
    t,
    {},
    { deadlineIntervalMs: 50, deadlineClock: () => new Date(Date.now() + offsetMs) },
  );
  const billing = await labSession(call, gateway, 'billing');
  const first = await deployToEnd(call, gateway, billing.session_id);
  t.is(first.status, 'succeeded');
  t.is((await call(gateway, 'DELETE', '/api/namespaces/kube-system')).status, 404, 'not the gateway’s');
  t.is((await call(gateway, 'DELETE', '/api/namespaces/billing-lab?after_days=0')).status, 400);
  const scheduled = await call(gateway, 'DELETE', '/api/namespaces/billing-lab?after_days=2');
  t.is(scheduled.status, 202);
  const { deletion_scheduled_for: due } = await json<{ name: string; deletion_scheduled_for: string }>(scheduled);
  t.true(Math.abs(Date.parse(due) - (Date.now() + 2 * 86_400_000)) < 60_000);
  t.like((await json<{ items: unknown[] }>(await call(gateway, 'GET', '/api/namespaces'))).items, [
    { name: 'billing-lab', deletion_scheduled_for: due },
  ]);

  // Two days pass while the gateway is down: the next one deletes it.
  await gateway.stop();
  offsetMs = 2 * 86_400_000 + 1000;
  const next = await gateway.restart();
  await eventually(() => (fake.objects('Namespace').length === 0 ? true : undefined), 'the namespace to be deleted');
  await eventually(
    async () =>
      (await json<{ items: unknown[] }>(await call(next, 'GET', '/api/namespaces'))).items.length === 0
        ? true
        : undefined,
    'the list to drop it',
  );
  t.is(
    (await json<DeploymentView>(await call(next, 'GET', `/api/deployments/${first.deployment_id}`))).url,
    null,
    'a deleted lab has no URL',
  );
  t.is((await call(next, 'DELETE', '/api/namespaces/billing-lab')).status, 404, 'gone');

  // Deleting now.
  offsetMs = 0;
  const again = await deployToEnd(call, next, billing.session_id);
  t.is(again.status, 'succeeded');
  // While the cluster takes its time, the deletion is under way: asked again it is the same deletion; scheduling it is too late.
  const deleting = fake.hold('DELETE Namespace', 'before');
  const now = await call(next, 'DELETE', '/api/namespaces/billing-lab');
  t.is(now.status, 202);
  await deleting.reached;
  t.is((await call(next, 'DELETE', '/api/namespaces/billing-lab')).status, 202);
  const late = await call(next, 'DELETE', '/api/namespaces/billing-lab?after_days=3');
  t.is(late.status, 409);
  t.regex((await json<{ detail: string }>(late)).detail, /being deleted already/);
  deleting.release();
  await eventually(
    () => (fake.objects('Namespace').length === 0 ? true : undefined),
    'the namespace to be deleted now',
  );
});

test('one deployment at a time per lab: confirming another while one runs is a 409 naming it', async (t) => {
  const { fake, gateway } = await setUp(t);
  const session = await labSession(call, gateway, 'billing');
  const plan = async () =>
    json<DeploymentView>(await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id }));
  const first = await plan();
  const second = await plan();
  const held = fake.hold('PATCH Deployment', 'before');
  t.is((await call(gateway, 'POST', `/api/deployments/${first.deployment_id}/confirm`, {})).status, 202);
  await held.reached;
  const refused = await call(gateway, 'POST', `/api/deployments/${second.deployment_id}/confirm`, {});
  t.is(refused.status, 409);
  t.regex(
    (await json<{ detail: string }>(refused)).detail,
    new RegExp(`deployment ${first.deployment_id} of lab billing-lab is deploying`),
  );
  held.release();
  await eventually(
    async () =>
      (await json<DeploymentView>(await call(gateway, 'GET', `/api/deployments/${first.deployment_id}`))).status ===
      'succeeded'
        ? true
        : undefined,
    'the first to finish',
  );
  t.is(
    (await call(gateway, 'POST', `/api/deployments/${second.deployment_id}/confirm`, {})).status,
    202,
    'once it has ended, the next may go',
  );
});
