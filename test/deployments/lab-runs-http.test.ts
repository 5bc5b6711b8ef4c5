import { createHash } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import { freePort } from '../../src/shared/free-port.js';
import { refusedByClusterRole } from '../support/cluster-role.js';
import { eventually } from '../support/eventually.js';
import { caller } from '../support/gateway-client.js';
import { LAB_TESTS, labSession } from '../support/lab-session.js';
import { startMockSlack } from '../support/mock-slack.js';
import { connectSse } from '../support/sse-client.js';
import { startKubeletCluster } from '../support/kubelet-cluster.js';
import { withLockFile } from '../support/npm-lock.js';
import { whyNotHere } from '../support/local-kubelet.js';
import { startTestGateway, type TestGatewayOptions } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const SECRET = 'webhook-secret-for-tests';
const call = caller(OPERATOR);
const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

const why = whyNotHere();
if (why !== undefined) console.warn(`deployments against the local kubelet skipped: ${why}`);
const kubeletTest = why === undefined ? test.serial : test.serial.skip;

/** A gateway whose cluster is the fake API server with a local kubelet: the lab's pods really run. */
const setUp = async (t: ExecutionContext, options: Partial<TestGatewayOptions> = {}) => {
  const { kube: fake, kubelet } = await startKubeletCluster(t);
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    kubeconfig: fake.kubeconfig,
    // The gateway's acceptance checks reach the lab's Service through the API server's proxy.
    deployment: { test_url: `${fake.url}/api/v1/namespaces/{namespace}/services/app:80/proxy` },
    ...options,
  });
  return { fake, kubelet, gateway };
};

/** Plans and confirms a deployment; resolves with its view once it has ended. */
const deployUntilEnd = async (gateway: Parameters<typeof call>[0], sessionId: string): Promise<DeploymentView> => {
  const planned = await json<DeploymentView>(
    await call(gateway, 'POST', '/api/deployments', { session_id: sessionId }),
  );
  await call(gateway, 'POST', `/api/deployments/${planned.deployment_id}/confirm`, { confirmed_by: 'U42' });
  return eventually(
    async () => {
      const view = await json<DeploymentView>(await call(gateway, 'GET', `/api/deployments/${planned.deployment_id}`));
      return view.status === 'succeeded' || view.status === 'failed' ? view : undefined;
    },
    `deployment ${planned.deployment_id} to end`,
    240_000,
  );
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

/** An app whose health a test can spoil, with a unit test, an integration test of its health and two acceptance checks. */
const TESTED_APP: Readonly<Record<string, string>> = {
  ...LAB_TESTS,
  'package.json': JSON.stringify({ name: 'billing', private: true, scripts: { start: 'node server.js' } }),
  'server.js': [
    'let healthy = true;',
    "require('node:http').createServer((q, s) => {",
    "  if (q.method === 'POST' && q.url === '/fall-ill') { healthy = false; return s.end('ill'); }",
    "  if (q.url === '/health') return s.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'down');",
    "  s.end('<h1>Welcome to billing</h1>');",
    '}).listen(Number(process.env.PORT));',
    '',
  ].join('\n'),
  'test/app.test.mjs': "import test from 'node:test';\ntest('serves', () => {});\ntest('bills', () => {});\n",
};

kubeletTest(
  'the tests step runs unit and integration tests in Jobs of the lab, against the running app, and acceptance checks through its Service: results by view, GET, SSE and webhook; a rerun finds the lab ill',
  async (t) => {
    const slack = await startMockSlack(t, SECRET);
    const { fake, gateway } = await setUp(t, {
      webhooks: { slack_url: slack.url, retry_attempts: 1, retry_delay: 10 },
      webhookSecret: SECRET,
    });
    const session = await labSession(call, gateway, 'billing', TESTED_APP);
    const view = await deployUntilEnd(gateway, session.session_id);
    t.is(view.status, 'succeeded', view.error ?? '');
    t.like(
      view.steps.find((step) => step.name === 'tests'),
      { status: 'done', detail: 'unit 2/2 passed, integration 1/1 passed, acceptance 2/2 passed' },
    );
    t.like(view.tests, {
      all_passing: true,
      unit: { passed: true, total: 2 },
      integration: { passed: true, total: 1 },
      acceptance: { passed: true, total: 2 },
    });
    t.deepEqual(fake.objects('Job', 'billing-lab'), [], 'the suites’ Jobs are gone');
    t.deepEqual(await json(await call(gateway, 'GET', `/api/deployments/${view.deployment_id}/tests`)), view.tests);
    const progress = await connectSse(`${gateway.url}/api/deployments/${view.deployment_id}/progress`, OPERATOR);
    await progress.ended;
    const results = progress.frames.find((frame) => frame.event === 'test_results');
    t.deepEqual(JSON.parse(results!.data!), view.tests);
    t.like(JSON.parse(progress.frames.find((frame) => frame.event === 'complete')!.data!), {
      status: 'succeeded',
      all_passing: true,
    });
    await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'test_results'));
    t.like(slack.deliveries.find((delivery) => delivery.eventType === 'test_results')!.body, {
      deployment_id: view.deployment_id,
      data: { run_id: 'deploy', all_passing: true },
    });

    // The lab falls ill; a rerun finds it.
    await fetch(`${fake.serviceUrl('billing-lab', 'app')!}/fall-ill`, { method: 'POST' });
    const rerun = await call(gateway, 'POST', `/api/deployments/${view.deployment_id}/tests/rerun`, {});
    t.is(rerun.status, 202);
    t.like(await json(rerun), { status: 'testing' });
    t.is(
      (await call(gateway, 'POST', `/api/deployments/${view.deployment_id}/tests/rerun`, {})).status,
      409,
      'one rerun at a time',
    );
    const after = await eventually(
      async () => {
        const latest = await json<DeploymentView>(await call(gateway, 'GET', `/api/deployments/${view.deployment_id}`));
        return latest.status === 'succeeded' ? latest : undefined;
      },
      'the rerun to finish',
      180_000,
    );
    t.like(after.tests, {
      all_passing: false,
      integration: { passed: false },
      acceptance: { passed: false, failed: 1, failures: [{ name: 'health', message: 'expected HTTP 200, got 503' }] },
    });
    await slack.waitFor((got) => got.filter((delivery) => delivery.eventType === 'test_results').length === 2);
    t.deepEqual(
      refusedByClusterRole(fake.requests.keys()),
      [],
      'every call the gateway made is one its ClusterRole (k8s/clusterrole.yaml) allows',
    );
    t.true(fake.requests.has('DELETE Job') && fake.requests.has('GET pods/log'), 'the Jobs were read and deleted');
  },
);

kubeletTest(
  'end to end: an app with a dependency, a lock file and a file too large for ConfigMaps — the init containers fetch it through the signed bundle URL, the pod installs and starts, its unit test runs in a Job, integration and acceptance tests hit it, all passing',
  async (t) => {
    // The pods fetch the bundle from the gateway itself: its address is fixed before it starts.
    const port = await freePort();
    const { fake, gateway } = await setUp(t, {
      server: { port },
      kubernetes: { bundle_base_url: `http://127.0.0.1:${port}` },
    });
    const big = Buffer.alloc(1536 * 1024, 7);
    const digest = createHash('sha256').update(big).digest('hex');
    const files = {
      ...LAB_TESTS,
      ...withLockFile({
        name: 'prices',
        private: true,
        scripts: { start: 'node server.js' },
        dependencies: { ms: '2.1.3' },
      }),
      'server.js': [
        "const digest = require('node:crypto').createHash('sha256').update(require('node:fs').readFileSync('assets/prices.bin')).digest('hex');",
        "const due = require('ms')(30 * 86400000, { long: true });",
        "require('node:http').createServer((q, s) => s.end(q.url === '/health' ? 'ok' : `Welcome: prices ${digest}, due in ${due}`)).listen(Number(process.env.PORT));",
        '',
      ].join('\n'),
      'test/prices.test.mjs': [
        "import test from 'node:test';",
        "import assert from 'node:assert/strict';",
        "import { statSync } from 'node:fs';",
        `test('the price table is whole', () => assert.equal(statSync('assets/prices.bin').size, ${big.length}));`,
        '',
      ].join('\n'),
      'assets/prices.bin': big,
    };
    const session = await labSession(call, gateway, 'prices', files);
    const view = await deployUntilEnd(gateway, session.session_id);
    t.is(view.status, 'succeeded', view.error ?? '');
    t.like(view.plan.pvcs, [{ name: 'code-large', files: 1, bytes: big.length }]);
    t.like(view.tests, { all_passing: true, unit: { passed: true, total: 1 } });
    const answer = await (await fetch(`${fake.serviceUrl('prices-lab', 'app')!}/`)).text();
    t.is(
      answer,
      `Welcome: prices ${digest}, due in 30 days`,
      'the pod read the whole file the bundle carried, and its dependency from the lock file',
    );
  },
);
