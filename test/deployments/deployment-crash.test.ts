import test from 'ava';
import { join } from 'node:path';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import type { SessionView } from '../../src/sessions/session-view.js';
import { deploymentStream } from '../../src/deployments/events.js';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { eventually } from '../support/eventually.js';
import { caller } from '../support/gateway-client.js';
import type { GatewayProcess } from '../support/gateway-process.js';
import { gatewayRig } from '../support/gateway-rig.js';
import { commitFiles, NODE_APP } from '../support/lab-session.js';

const TOKEN = 'operator-token-0123456789';
const api = caller(TOKEN);

/**
 * The gateway (the real `npm start` entry point) SIGKILLed at every step boundary of one
 * deployment: just before each step's first object reaches the API server, and just after the
 * server applied it but before the gateway heard back; then while it waits for the pods. Each
 * time the next gateway resumes the deployment at the right step. At the end the lab is whole,
 * every step was completed once, and no object was ever created twice.
 */
const BOUNDARIES: readonly [string, 'before' | 'after'][] = [
  ['PATCH Namespace', 'before'],
  ['PATCH Namespace', 'after'],
  ['PATCH ServiceAccount', 'before'],
  ['PATCH LimitRange', 'after'],
  ['PATCH ConfigMap', 'before'],
  ['PATCH ConfigMap', 'after'],
  ['PATCH PersistentVolumeClaim', 'before'],
  ['PATCH PersistentVolumeClaim', 'after'],
  ['PATCH Deployment', 'before'],
  ['PATCH Service', 'after'],
  ['PATCH Ingress', 'before'],
  ['PATCH Ingress', 'after'],
  ['GET Pod', 'before'],
];

test('a gateway killed at every step boundary of a deployment resumes it at the right step and creates nothing twice', async (t) => {
  // The shipped configuration without agents: this test is about deployments.
  const { dir, fake, start } = await gatewayRig(t, { token: TOKEN, kube: { podDelayMs: 100 } });
  let gateway: GatewayProcess = await start();
  const session = (await (
    await api(gateway, 'POST', '/api/sessions', {
      category: 'lab',
      project: 'billing',
      repos: [{ name: 'api' }],
      task: { title: 'Fix the footer', description: 'Small.' },
    })
  ).json()) as SessionView;
  const ready = await eventually(async () => {
    const view = (await (await api(gateway, 'GET', `/api/sessions/${session.session_id}`)).json()) as SessionView;
    return view.workspace_path ? view : undefined;
  }, 'the workspace');
  // A large file, so the pvcs step has an object too.
  await commitFiles(ready.repos[0]!.worktree_path!, { ...NODE_APP, 'assets/model.bin': Buffer.alloc(1200 * 1024, 3) });
  const planned = (await (
    await api(gateway, 'POST', '/api/deployments', { session_id: session.session_id })
  ).json()) as DeploymentView;
  t.like(planned.plan.pvcs, [{ name: 'code-large' }]);

  let held = fake.hold(...BOUNDARIES[0]!);
  t.is((await api(gateway, 'POST', `/api/deployments/${planned.deployment_id}/confirm`, {})).status, 202);
  for (const [index, boundary] of BOUNDARIES.entries()) {
    await held.reached;
    await gateway.kill();
    t.log(`killed at ${boundary.join(' ')}`);
    const next = BOUNDARIES[index + 1];
    if (next) held = fake.hold(...next);
    gateway = await start();
  }
  const view = await eventually(async () => {
    const latest = (await (
      await api(gateway, 'GET', `/api/deployments/${planned.deployment_id}`)
    ).json()) as DeploymentView;
    return latest.status === 'succeeded' || latest.status === 'failed' ? latest : undefined;
  }, 'the deployment to end');
  t.is(view.status, 'succeeded', view.error ?? '');
  t.is(view.url, 'https://billing.builder.lab.ctoaas.co');
  t.deepEqual(
    [...fake.creations.entries()].filter(([, count]) => count !== 1),
    [],
    'no object created twice',
  );
  for (const kind of [
    'Namespace',
    'ServiceAccount',
    'Role',
    'RoleBinding',
    'ResourceQuota',
    'LimitRange',
    'ConfigMap',
    'PersistentVolumeClaim',
    'Deployment',
    'Service',
    'Ingress',
  ]) {
    t.is(fake.objects(kind).length, 1, `one ${kind}`);
  }
  const history = (await (
    await api(gateway, 'GET', `/api/deployments/${planned.deployment_id}`)
  ).json()) as DeploymentView;
  t.deepEqual(
    history.steps.map((step) => [step.name, step.status]),
    [
      ['namespace', 'done'],
      ['rbac', 'done'],
      ['configmaps', 'done'],
      ['pvcs', 'done'],
      ['manifests', 'done'],
      ['ingress', 'done'],
      ['pods_ready', 'done'],
      ['tests', 'done'],
    ],
  );
  // The log itself: each step started and completed exactly once, whatever the kills interrupted.
  await gateway.kill();
  const store = await openEmbeddedEventStore({ dataDir: join(dir, 'events') });
  const events = await store.readStream(deploymentStream(planned.deployment_id));
  await store.close();
  const count = (type: string) => events.filter((event) => event.type === type).length;
  t.is(count('DeploymentStepStarted'), 8);
  t.is(count('DeploymentStepCompleted'), 7, 'every step but pods_ready');
  t.is(
    count('PodsReady'),
    1,
    'pods_ready ends with the pods watch’s PodsReady, recorded once though the watch was resumed after the kill',
  );
  t.is(count('DeploymentSucceeded'), 1);
});
