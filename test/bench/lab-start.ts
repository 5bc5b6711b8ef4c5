import { spawn, execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import type { Gateway } from '../../src/composition.js';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { LocalKubelet, whyNotHere } from '../support/local-kubelet.js';
import { commitEverything, startDeployingGateway } from './bench-gateway.js';
import { api, median, spread, TOKEN } from './deploy.js';
import type { Figure } from './eventstore.js';
import { withLockFile } from '../support/npm-lock.js';
import { freePort } from '../../src/shared/free-port.js';

const ROUNDS = 3;

/** Polls until `url` answers 2xx; the time it took from `started`. */
const answeringAfter = async (url: () => string | undefined, started: number, timeoutMs = 60_000): Promise<number> => {
  while (performance.now() - started < timeoutMs) {
    const target = url();
    if (target !== undefined) {
      const ok = await fetch(target, { signal: AbortSignal.timeout(1000) })
        .then((response) => response.ok)
        .catch(() => false);
      if (ok) return performance.now() - started;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nothing answered within ${timeoutMs} ms`);
};

/**
 * A Node service with one dependency from the npm registry and its lock file, a unit test, an
 * integration test of the running service and an acceptance check, committed in a repository.
 */
const makeApp = async (path: string): Promise<void> => {
  await mkdir(join(path, 'test'), { recursive: true });
  const committed = withLockFile({
    name: 'uptime',
    private: true,
    scripts: { start: 'node server.js', test: 'node --test test/' },
    dependencies: { ms: '2.1.3' },
  });
  for (const [name, text] of Object.entries(committed)) await writeFile(join(path, name), text);
  await writeFile(
    join(path, 'server.js'),
    "const ms = require('ms');\nrequire('node:http').createServer((q, s) => s.end(String(ms('1d')))).listen(Number(process.env.PORT));\n",
  );
  await writeFile(
    join(path, 'test', 'day.test.mjs'),
    "import test from 'node:test';\nimport assert from 'node:assert/strict';\nimport ms from 'ms';\ntest('a day', () => assert.equal(ms('1d'), 86400000));\n",
  );
  await writeFile(
    join(path, 'integration.mjs'),
    "const r = await fetch(process.env.LAB_URL); process.exit((await r.text()) === '86400000' ? 0 : 1);\n",
  );
  await writeFile(
    join(path, '.lab.yaml'),
    'tests:\n  unit: [npm, test]\n  integration: [node, integration.mjs]\nacceptance:\n  - { name: a day, path: /, expect_body: "86400000" }\n',
  );
  await simpleGit().raw(['init', '-q', '-b', 'main', path]);
  await commitEverything(path, 'app');
};

/** One command in a fresh copy of the app, after `npm ci` (dev dependencies too, as a test Job installs them). */
const installedAndRun = (app: string, copy: string, command: readonly string[], env: Record<string, string>) =>
  cp(app, copy, { recursive: true, filter: (source) => !source.includes('.git') }).then(() => {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: copy, stdio: 'pipe' });
    execFileSync(command[0]!, command.slice(1), { cwd: copy, stdio: 'pipe', env: { ...process.env, ...env } });
  });

/**
 * The floor: the same install and start as plain local commands, from a fresh copy each round;
 * then what the tests step does, as plain local commands too: each suite in its own fresh copy
 * with its dependencies installed, and the acceptance check.
 */
const plainLocal = async (app: string, dir: string): Promise<{ answering: number[]; tested: number[] }> => {
  const times: number[] = [];
  const tested: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const copy = join(dir, `local-${round}`);
    await cp(app, copy, { recursive: true, filter: (source) => !source.includes('.git') });
    const port = await freePort();
    const started = performance.now();
    execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: copy, stdio: 'pipe' });
    const server = spawn('npm', ['start'], { cwd: copy, env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
    times.push(await answeringAfter(() => `http://127.0.0.1:${port}/`, started));
    const url = `http://127.0.0.1:${port}/`;
    await installedAndRun(app, join(dir, `unit-${round}`), ['npm', 'test'], {});
    await installedAndRun(app, join(dir, `integration-${round}`), ['node', 'integration.mjs'], { LAB_URL: url });
    await (await fetch(url)).text();
    tested.push(performance.now() - started);
    server.kill('SIGTERM');
  }
  return { answering: times, tested };
};

/**
 * Confirmation → the lab's Service answering its health path, and → its tests finished (all
 * passing), through the gateway, the fake API server and its kubelet.
 */
const throughTheGateway = async (
  gateway: Gateway,
  fake: FakeKube,
  sessionId: string,
): Promise<{ answering: number[]; tested: number[] }> => {
  const times: number[] = [];
  const tested: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const planned = (await (
      await api(gateway, 'POST', '/api/deployments', { session_id: sessionId })
    ).json()) as DeploymentView;
    const pods = fake.objects('Pod', 'bench-lab').map((pod) => pod.metadata.name);
    const started = performance.now();
    const confirmed = await api(gateway, 'POST', `/api/deployments/${planned.deployment_id}/confirm`, {});
    if (confirmed.status !== 202) throw new Error(`confirm answered ${confirmed.status}: ${await confirmed.text()}`);
    // The new pod's address, not the last round's.
    const fresh = () =>
      fake.objects('Pod', 'bench-lab').some((pod) => !pods.includes(pod.metadata.name))
        ? fake.serviceUrl('bench-lab', 'app')
        : undefined;
    try {
      times.push(await answeringAfter(fresh, started));
    } catch (error) {
      const view = (await (
        await api(gateway, 'GET', `/api/deployments/${planned.deployment_id}`)
      ).json()) as DeploymentView;
      throw new Error(
        `${(error as Error).message}; the deployment is ${view.status}: ${view.error ?? JSON.stringify(view.steps)}`,
        { cause: error },
      );
    }
    // The tests step: its Jobs run the suites; the deployment ends with their results.
    let view: DeploymentView | undefined;
    while (view?.status !== 'succeeded' && view?.status !== 'failed') {
      await new Promise((resolve) => setTimeout(resolve, 20));
      view = (await (await api(gateway, 'GET', `/api/deployments/${planned.deployment_id}`)).json()) as DeploymentView;
    }
    tested.push(performance.now() - started);
    if (!view.tests?.all_passing)
      throw new Error(`the lab's tests did not all pass: ${view.error ?? JSON.stringify(view.tests)}`);
  }
  return { answering: times, tested };
};

/** A floor measured as plain local commands, and the same work through the gateway, whose target is ≤ 2× the floor. */
const againstLocal = (floorName: string, floor: number[], name: string, measured: number[]): Figure[] => [
  { name: floorName, value: spread(floor), target: '—', met: undefined },
  {
    name,
    value: spread(measured),
    target: `≤ 2× local (${(2 * median(floor)).toFixed(0)} ms)`,
    met: median(measured) <= 2 * median(floor),
  },
];

/**
 * Issue 15's bench: a Node app with one dependency, from the person's confirmation to its lab
 * answering (init container, `npm ci --omit=dev`, start, readiness), beside the same install and
 * start as plain local commands in the same run. Needs root and busybox (the local kubelet).
 */
export const benchLabStart = async (): Promise<Figure[]> => {
  const why = whyNotHere();
  if (why !== undefined)
    return [{ name: 'confirmation → lab answering', value: `not measured: ${why}`, target: '—', met: undefined }];
  const dir = await mkdtemp(join(tmpdir(), 'bench-lab-'));
  const kubelet = new LocalKubelet();
  const fake = await startFakeKube({ kubelet });
  try {
    await makeApp(join(dir, 'repos', 'api'));
    const local = await plainLocal(join(dir, 'repos', 'api'), dir);
    // The acceptance check reaches the lab's Service through the API server's proxy.
    const { gateway, sessionId } = await startDeployingGateway(dir, TOKEN, fake.kubeconfig, {
      test_url: `${fake.url}/api/v1/namespaces/{namespace}/services/app:80/proxy`,
    });
    try {
      const lab = await throughTheGateway(gateway, fake, sessionId);
      return [
        ...againstLocal(
          'plain local npm ci --omit=dev + start → answering (floor)',
          local.answering,
          'confirmation → lab answering (gateway, fake API server, local kubelet)',
          lab.answering,
        ),
        ...againstLocal(
          'plain local: the same, then each suite in a fresh copy with npm ci, and the check (floor)',
          local.tested,
          'confirmation → tests finished, all passing (unit and integration in Jobs, acceptance)',
          lab.tested,
        ),
      ];
    } finally {
      await gateway.stop();
    }
  } finally {
    await fake.close();
    await kubelet.close();
    await rm(dir, { recursive: true, force: true });
  }
};
