import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import pino from 'pino';
import { simpleGit } from 'simple-git';
import { startGateway, type Gateway } from '../../src/composition.js';
import { formatConfigError, loadConfig } from '../../src/config/load.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { LAB_TESTS } from '../support/lab-session.js';
import { LocalKubelet, whyNotHere } from '../support/local-kubelet.js';
import { withLockFile } from '../support/npm-lock.js';
import { startMockSlack } from '../support/mock-slack.js';
import { scriptedProviderConfig, startScriptedModel, type ScriptedModel } from '../support/scripted-model.js';

export const OPERATOR_TOKEN = 'demo-operator-token-0123456789';
export const AUDITOR_TOKEN = 'demo-auditor-token-0123456789';
export const WEBHOOK_SECRET = 'demo-webhook-secret';
export const SLACK_SIGNING_SECRET = 'demo-slack-signing-secret';

/** The project a person asks about: a small Node service with its tests and its lab manifest. */
const PROJECT: Record<string, string> = {
  'package.json': JSON.stringify(
    { name: 'billing', version: '1.0.0', scripts: { start: 'node server.js', test: 'node --test test/' } },
    null,
    2,
  ),
  'server.js': "require('node:http').createServer((q, s) => s.end('Welcome to billing')).listen(process.env.PORT);\n",
  'test/prices.test.mjs':
    "import test from 'node:test';\nimport assert from 'node:assert/strict';\ntest('prices add up', () => assert.equal(0.1 * 10, 1));\n",
  ...LAB_TESTS,
};

/**
 * The same project when its lab really runs (on the local kubelet): with a dependency from the
 * npm registry and its lock file, installed by the lab's pod, and used in its answer.
 */
const projectWithDependency = (): Record<string, string> => ({
  ...PROJECT,
  ...withLockFile({
    name: 'billing',
    version: '1.0.0',
    private: true,
    scripts: { start: 'node server.js', test: 'node --test test/' },
    dependencies: { ms: '2.1.3' },
  }),
  'server.js':
    "const ms = require('ms');\nrequire('node:http').createServer((q, s) => s.end(`Welcome to billing: invoices are due in ${ms(30 * 86400000, { long: true })}`)).listen(Number(process.env.PORT));\n",
});

export interface World {
  readonly gateway: Gateway;
  readonly slack: Awaited<ReturnType<typeof startMockSlack>>;
  readonly kube: FakeKube;
  readonly model: ScriptedModel;
  /** Where the lab's pods run: on the local kubelet, or (where it cannot run) simulated, saying why. */
  readonly labs: { readonly real: true } | { readonly real: false; readonly why: string };
  /** What the lab's app answers at its root, through its Service (the stand-in's answer where pods are simulated). */
  readonly labAnswer: (namespace: string) => Promise<string>;
  readonly dir: string;
  readonly close: () => Promise<void>;
}

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

/**
 * Everything the gateway talks to, on 127.0.0.1: the scripted model behind the real OpenCode,
 * the fake Kubernetes API with a local kubelet that runs the lab's pods for real (as root, with
 * busybox; elsewhere its pods are simulated and a web server plays the deployed lab), and the mock
 * Slack receiver.
 */
export const startWorld = async (): Promise<World> => {
  const cleanups: (() => Promise<void> | void)[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'gateway-demo-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  // The gateway's data and the workspace sit side by side in it: the agent's user must pass through to the workspace.
  await chmod(dir, 0o755);
  try {
    const model = await startScriptedModel();
    cleanups.push(() => model.close());
    const why = whyNotHere();
    const kubelet = why === undefined ? new LocalKubelet() : undefined;
    if (kubelet) cleanups.push(() => kubelet.close());
    const kube = await startFakeKube(kubelet ? { kubelet } : { podDelayMs: 300 });
    cleanups.push(() => kube.close());
    const slack = await startMockSlack({ teardown: (cleanup) => void cleanups.push(cleanup) }, WEBHOOK_SECRET);
    // Where pods cannot really run, a web server on 127.0.0.1 plays the deployed lab.
    let testUrl = `${kube.url}/api/v1/namespaces/{namespace}/services/app:80/proxy`;
    if (!kubelet) {
      const lab = createServer((request, response) =>
        response.end(request.url === '/health' ? 'ok' : 'Welcome to billing'),
      );
      testUrl = await listen(lab);
      cleanups.push(() => new Promise<void>((resolve) => lab.close(() => resolve())));
    }

    const repo = join(dir, 'workspace', 'repos', 'billing-api');
    for (const [path, content] of Object.entries(kubelet ? projectWithDependency() : PROJECT)) {
      await mkdir(dirname(join(repo, path)), { recursive: true });
      await writeFile(join(repo, path), content);
    }
    await simpleGit().raw(['init', '-q', '-b', 'main', repo]);
    await simpleGit(repo).add('.');
    await simpleGit(repo).raw([
      '-c',
      'user.name=Dev',
      '-c',
      'user.email=dev@example.com',
      'commit',
      '-q',
      '-m',
      'billing service',
    ]);
    await writeFile(join(dir, 'kubeconfig.yaml'), kube.kubeconfig);

    const loaded = loadConfig({
      env: {
        GATEWAY_DATA_DIR: join(dir, 'data'),
        GATEWAY_WORKSPACE: join(dir, 'workspace'),
        PORT: '0',
        GATEWAY_TOKENS: `slack-backend:operator:${OPERATOR_TOKEN},audit:auditor:${AUDITOR_TOKEN}`,
        GATEWAY_WEBHOOK_SECRET: WEBHOOK_SECRET,
        SLACK_WEBHOOK_URL: slack.url,
        SLACK_SIGNING_SECRET,
        GATEWAY_BUNDLE_SECRET: 'demo-bundle-secret',
        KUBECONFIG: join(dir, 'kubeconfig.yaml'),
        GATEWAY_OPENCODE_CONFIG: JSON.stringify(scriptedProviderConfig(model.baseUrl)),
      },
    });
    if (E.isLeft(loaded)) throw new Error(formatConfigError(loaded.left));
    const config = loaded.right;
    const gateway = await startGateway(
      {
        ...config,
        deployment: { ...config.deployment, test_url: testUrl },
        webhooks: { ...config.webhooks, retry_delay: 100 },
      },
      { logger: pino({ level: 'silent' }) },
    );
    cleanups.push(() => gateway.stop());
    return {
      gateway,
      slack,
      kube,
      model,
      labs: why === undefined ? { real: true } : { real: false, why },
      labAnswer: async (namespace) => (await fetch(`${testUrl.replace('{namespace}', namespace)}/`)).text(),
      dir,
      close: async () => {
        for (const cleanup of cleanups.reverse()) await cleanup();
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup();
    throw error;
  }
};
