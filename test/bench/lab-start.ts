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

/** A Node service with one dependency from the npm registry and its lock file, committed in a repository. */
const makeApp = async (path: string): Promise<void> => {
  await mkdir(path, { recursive: true });
  const committed = withLockFile({
    name: 'uptime',
    private: true,
    scripts: { start: 'node server.js' },
    dependencies: { ms: '2.1.3' },
  });
  for (const [name, text] of Object.entries(committed)) await writeFile(join(path, name), text);
  await writeFile(
    join(path, 'server.js'),
    "const ms = require('ms');\nrequire('node:http').createServer((q, s) => s.end(String(ms('1d')))).listen(Number(process.env.PORT));\n",
  );
  await simpleGit().raw(['init', '-q', '-b', 'main', path]);
  await commitEverything(path, 'app');
};

/** The floor: the same install and start as plain local commands, from a fresh copy each round. */
const plainLocal = async (app: string, dir: string): Promise<number[]> => {
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const copy = join(dir, `local-${round}`);
    await cp(app, copy, { recursive: true, filter: (source) => !source.includes('.git') });
    const port = await freePort();
    const started = performance.now();
    execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: copy, stdio: 'pipe' });
    const server = spawn('npm', ['start'], { cwd: copy, env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
    times.push(await answeringAfter(() => `http://127.0.0.1:${port}/`, started));
    server.kill('SIGTERM');
  }
  return times;
};

/** Confirmation → the lab's Service answering its health path, through the gateway, the fake API server and its kubelet. */
const throughTheGateway = async (gateway: Gateway, fake: FakeKube, sessionId: string): Promise<number[]> => {
  const times: number[] = [];
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
    // The lab takes one deployment at a time: the next round waits for this one to end (its tests step).
    for (let status = ''; status !== 'succeeded' && status !== 'failed';) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const view = (await (
        await api(gateway, 'GET', `/api/deployments/${planned.deployment_id}`)
      ).json()) as DeploymentView;
      status = view.status;
    }
  }
  return times;
};

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
    const { gateway, sessionId } = await startDeployingGateway(dir, TOKEN, fake.kubeconfig);
    try {
      const lab = await throughTheGateway(gateway, fake, sessionId);
      return [
        {
          name: 'plain local npm ci --omit=dev + start → answering (floor)',
          value: spread(local),
          target: '—',
          met: undefined,
        },
        {
          name: 'confirmation → lab answering (gateway, fake API server, local kubelet)',
          value: spread(lab),
          target: `≤ 2× local (${(2 * median(local)).toFixed(0)} ms)`,
          met: median(lab) <= 2 * median(local),
        },
        {
          name: 'confirmation → tests finished',
          value: 'not measured: the tests step does not run in Jobs yet',
          target: '—',
          met: undefined,
        },
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
