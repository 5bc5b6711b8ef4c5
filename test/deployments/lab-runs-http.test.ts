import test, { type ExecutionContext } from 'ava';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import { eventually } from '../support/eventually.js';
import { caller } from '../support/gateway-client.js';
import { labSession } from '../support/lab-session.js';
import { startKubeletCluster } from '../support/kubelet-cluster.js';
import { withLockFile } from '../support/npm-lock.js';
import { whyNotHere } from '../support/local-kubelet.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const call = caller(OPERATOR);

const why = whyNotHere();
if (why !== undefined) console.warn(`deployments against the local kubelet skipped: ${why}`);
const kubeletTest = why === undefined ? test.serial : test.serial.skip;

/** A gateway whose cluster is the fake API server with a local kubelet: the lab's pods really run. */
const setUp = async (t: ExecutionContext) => {
  const { kube: fake, kubelet } = await startKubeletCluster(t);
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    kubeconfig: fake.kubeconfig,
  });
  return { fake, kubelet, gateway };
};

/** Plans and confirms a deployment; resolves with its view once pods_ready has ended, one way or the other. */
const deployUntilPods = async (gateway: Parameters<typeof call>[0], sessionId: string): Promise<DeploymentView> => {
  const planned = (await (
    await call(gateway, 'POST', '/api/deployments', { session_id: sessionId })
  ).json()) as DeploymentView;
  await call(gateway, 'POST', `/api/deployments/${planned.deployment_id}/confirm`, { confirmed_by: 'U42' });
  return eventually(
    async () => {
      const view = (await (
        await call(gateway, 'GET', `/api/deployments/${planned.deployment_id}`)
      ).json()) as DeploymentView;
      const pods = view.steps.find((step) => step.name === 'pods_ready');
      return pods?.status === 'done' || view.status === 'failed' ? view : undefined;
    },
    `deployment ${planned.deployment_id} past pods_ready`,
    180_000,
  );
};

kubeletTest(
  'a deployed Node app with a dependency really starts in its lab: pods_ready comes from its readiness, and it answers through its Service',
  async (t) => {
    const { fake, gateway } = await setUp(t);
    const files = {
      ...withLockFile({
        name: 'billing',
        private: true,
        scripts: { start: 'node server.js' },
        dependencies: { ms: '2.1.3' },
      }),
      'server.js':
        "const ms = require('ms');\nrequire('node:http').createServer((q, s) => s.end(`billing up, a day is ${ms('1d')} ms`)).listen(Number(process.env.PORT));\n",
    };
    const session = await labSession(call, gateway, 'billing', files);
    const view = await deployUntilPods(gateway, session.session_id);
    t.is(view.steps.find((step) => step.name === 'pods_ready')?.status, 'done', view.error ?? '');
    const url = fake.serviceUrl('billing-lab', 'app');
    t.truthy(url, 'the Service reaches the running pod');
    t.is(await (await fetch(`${url!}/`)).text(), 'billing up, a day is 86400000 ms');
  },
);

kubeletTest(
  'an app that crashes at start fails pods_ready with the container’s real exit code and reason',
  async (t) => {
    const { gateway } = await setUp(t);
    const files = {
      'package.json': JSON.stringify({ name: 'ledger', private: true, scripts: { start: 'node server.js' } }),
      'server.js': "console.error('DATABASE_URL is not set'); process.exit(4);\n",
    };
    const session = await labSession(call, gateway, 'ledger', files);
    const view = await deployUntilPods(gateway, session.session_id);
    t.is(view.status, 'failed');
    t.regex(view.error ?? '', /CrashLoopBackOff/);
    t.regex(view.error ?? '', /last exit code 4 \(Error\)/);
  },
);
