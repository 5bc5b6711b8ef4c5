import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { splitIntoBundles } from '../../src/labs/bundles.js';
import { parseLabManifest } from '../../src/labs/lab-manifest.js';
import { kubernetesCluster, loadKubeConfig, type PodsVerdict } from '../../src/labs/cluster.js';
import { APPLY_STEPS, labObjects, podSelectorOf, type KubeObject } from '../../src/labs/manifests.js';
import { judgePod, type PodStatus } from '../../src/labs/pod-state.js';
import type { RepoFile } from '../../src/labs/repo-file.js';
import { detectRuntime } from '../../src/labs/runtime.js';
import { LocalKubelet, whyNotHere, type KubeObjectLike } from '../support/local-kubelet.js';
import { until } from '../support/eventually.js';
import { startKubeletCluster } from '../support/kubelet-cluster.js';
import { withLockFile } from '../support/npm-lock.js';

const why = whyNotHere();
// Said once, loudly, where the kubelet cannot run (not root, no busybox): CI runs them as root with busybox installed.
if (why !== undefined) console.warn(`local kubelet tests skipped: ${why}`);
const kubeletTest = why === undefined ? test.serial : test.serial.skip;

const file = (path: string, content: string | Buffer, executable = false): RepoFile => {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
  return { path, content: bytes, binary: Buffer.isBuffer(content), executable };
};

/** The lab objects of a repository, as the executor would apply them, with its large files behind `bundle`. */
const labObjectsOf = (files: RepoFile[], bundle: { url: string; sha256: string } | null) => {
  const manifest = parseLabManifest(undefined);
  if (E.isLeft(manifest)) throw new Error(manifest.left);
  const detected = detectRuntime(
    new Map(files.map((each) => [each.path, each.content.toString('utf8')])),
    manifest.right,
  );
  if (E.isLeft(detected)) throw new Error(detected.left);
  const runtime = detected.right;
  const { configmaps, pvc } = splitIntoBundles(files, 64 * 1024);
  const objects = labObjects(
    {
      project: 'shop',
      namespace: 'shop-lab',
      host: 'shop.lab.test',
      deploymentId: 'd-1',
      sessionId: 's-1',
      runtime,
      files,
      configmaps,
      pvc,
      bundle: pvc.files.length > 0 ? bundle : null,
    },
    { ingressClass: 'nginx', clusterIssuer: 'letsencrypt', storageClass: null, fetchImage: 'busybox:1.36' },
  );
  return Object.assign(objects, { runtime });
};

/** A lab's pod as its Deployment would make it, and the ConfigMaps it mounts. */
const labOf = (files: RepoFile[], bundle: { url: string; sha256: string } | null) => {
  const objects = labObjectsOf(files, bundle);
  const { runtime } = objects;
  const all = APPLY_STEPS.flatMap((step) => objects[step]);
  const deployment = all.find((object) => object.kind === 'Deployment')!;
  const template = (
    deployment as unknown as { spec: { template: { metadata: { labels: Record<string, string> }; spec: unknown } } }
  ).spec.template;
  const pod: KubeObjectLike = {
    metadata: { name: 'app-1', namespace: 'shop-lab', labels: template.metadata.labels },
    spec: template.spec,
  };
  return { pod, configMaps: all.filter((object) => object.kind === 'ConfigMap'), runtime };
};

const worldOf = (configMaps: KubeObject[]) => {
  const statuses: PodStatus[] = [];
  return {
    statuses,
    last: () => statuses[statuses.length - 1],
    world: {
      configMap: (_namespace: string, name: string) =>
        configMaps.find((object) => object.metadata.name === name) as KubeObjectLike | undefined,
      onStatus: (status: Record<string, unknown>) => statuses.push(status as PodStatus),
    },
  };
};

/** A tar.gz of `files` served at a URL, counting the downloads. */
const serveBundle = async (t: ExecutionContext, files: Record<string, string>) => {
  const folder = mkdtempSync(join(tmpdir(), 'bundle-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(folder, 'files', path, '..'), { recursive: true });
    writeFileSync(join(folder, 'files', path), content);
  }
  execFileSync('tar', ['-czf', join(folder, 'bundle.tgz'), '-C', join(folder, 'files'), '.']);
  const body = readFileSync(join(folder, 'bundle.tgz'));
  let downloads = 0;
  const server: Server = createServer((_request, response) => {
    downloads += 1;
    response.writeHead(200, { 'content-type': 'application/gzip' });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  return {
    bundle: { url: `http://127.0.0.1:${port}/bundle.tgz`, sha256: createHash('sha256').update(body).digest('hex') },
    downloads: () => downloads,
  };
};

const SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const greeting = require('./lib/greeting.js');
const big = fs.readFileSync('/app/data/big.txt', 'utf8').trim();
http.createServer((request, response) => {
  response.end(JSON.stringify({ greeting, big, cwd: process.cwd(), port: process.env.PORT, files: fs.readdirSync('/app').sort() }));
}).listen(Number(process.env.PORT), () => console.log('listening on', process.env.PORT));
`;

kubeletTest(
  "a lab's pod runs: the init container (busybox sh) fetches the large files and gathers the code into /app, the app starts there and answers on its mapped port; the PVC outlives the pod",
  async (t) => {
    const kubelet = new LocalKubelet();
    t.teardown(() => kubelet.close());
    const served = await serveBundle(t, { 'data/big.txt': 'a large file, fetched by the init container\n' });
    const files = [
      file('package.json', JSON.stringify({ name: 'shop', scripts: { start: 'node server.js' } })),
      file('server.js', SERVER),
      file('lib/greeting.js', "module.exports = 'hello from a ConfigMap';\n"),
      // A PVC file: bigger than a ConfigMap may hold.
      file('data/big.txt', 'x'.repeat(70 * 1024)),
    ];
    const { pod, configMaps } = labOf(files, served.bundle);
    const { world, last } = worldOf(configMaps);
    const running = kubelet.run(pod, world);
    await until(() => judgePod('app-1', last()).kind !== 'waiting', 'the pod ready or failed', 30_000);
    t.deepEqual(
      judgePod('app-1', last()),
      { kind: 'ready' },
      JSON.stringify(last()) + kubelet.logs('shop-lab', 'app-1', 'prepare-code'),
    );
    const port = running.portOf(3000)!;
    t.not(port, 3000, 'the container port is mapped to a free local one');
    const answer = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as Record<string, unknown>;
    t.like(answer, {
      greeting: 'hello from a ConfigMap',
      big: 'a large file, fetched by the init container',
      cwd: '/app',
    });
    t.deepEqual(
      answer['files'],
      ['data', 'lib', 'package-lock.json', 'package.json', 'server.js'],
      'no ..data or timestamped folder of the ConfigMap volume; the lock file is npm install’s, in the writable /app',
    );
    t.regex(kubelet.logs('shop-lab', 'app-1') ?? '', /listening on \d+/);
    t.is(served.downloads(), 1);
    await running.stop();

    // The same lab again: the PVC kept the files and their digest, so nothing is fetched twice.
    const again = kubelet.run(pod, world);
    t.teardown(() => again.stop());
    await until(() => judgePod('app-1', last()).kind === 'ready', 'the second pod ready', 30_000);
    t.is(served.downloads(), 1, 'the PVC outlived the first pod');
  },
);

kubeletTest('a ConfigMap volume is read-only, its items at their paths with their modes', async (t) => {
  const kubelet = new LocalKubelet();
  t.teardown(() => kubelet.close());
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'code-0', namespace: 'ns' },
    data: { 'a.sh': 'echo run', b: 'bee' },
  } as KubeObject;
  const { world, last } = worldOf([configMap]);
  const script = 'ls -l /cm/tools/run.sh; cat /cm/b.txt; echo; touch /cm/new 2>&1; echo "touch exited $?"';
  const pod: KubeObjectLike = {
    metadata: { name: 'probe', namespace: 'ns' },
    spec: {
      volumes: [
        {
          name: 'cm',
          configMap: {
            name: 'code-0',
            items: [
              { key: 'a.sh', path: 'tools/run.sh', mode: 0o755 },
              { key: 'b', path: 'b.txt' },
            ],
          },
        },
      ],
      initContainers: [
        {
          name: 'look',
          image: 'busybox:1.36',
          command: ['sh', '-c', script],
          volumeMounts: [{ name: 'cm', mountPath: '/cm' }],
        },
      ],
      containers: [{ name: 'idle', image: 'busybox:1.36', command: ['sleep', '60'] }],
    },
  };
  const running = kubelet.run(pod, world);
  t.teardown(() => running.stop());
  await until(
    () => (last()?.initContainerStatuses ?? []).some((status) => status.state?.terminated),
    'the init container done',
    20_000,
  );
  const log = kubelet.logs('ns', 'probe', 'look') ?? '';
  t.regex(log, /-rwxr-xr-x .* \/cm\/tools\/run\.sh/);
  t.regex(log, /^bee$/m);
  t.regex(log, /Read-only file system/);
  t.regex(log, /touch exited 1/);
});

kubeletTest(
  'an app that exits is restarted and shown in CrashLoopBackOff with its real exit code; the pod is judged failed',
  async (t) => {
    const kubelet = new LocalKubelet();
    t.teardown(() => kubelet.close());
    const files = [
      file('package.json', JSON.stringify({ name: 'broken', scripts: { start: 'node crash.js' } })),
      file('crash.js', "console.error('missing DATABASE_URL'); process.exit(3);\n"),
    ];
    const { pod, configMaps } = labOf(files, null);
    const { world, last } = worldOf(configMaps);
    const running = kubelet.run(pod, world);
    t.teardown(() => running.stop());
    await until(() => judgePod('app-1', last()).kind === 'failed', 'the pod failed', 30_000);
    const app = last()!.containerStatuses!.find((status) => status.name === 'app') as unknown as {
      restartCount: number;
      lastState: { terminated: { exitCode: number } };
    };
    t.true(app.restartCount >= 1);
    t.is(app.lastState.terminated.exitCode, 3);
    t.regex(
      judgePod('app-1', last()).kind === 'failed' ? (judgePod('app-1', last()) as { reason: string }).reason : '',
      /CrashLoopBackOff/,
    );
    await until(() => /missing DATABASE_URL/.test(kubelet.logs('shop-lab', 'app-1') ?? ''), 'the log', 5000);
  },
);

kubeletTest('an image this machine cannot run (uv) is reported as such, not faked', async (t) => {
  const kubelet = new LocalKubelet();
  t.teardown(() => kubelet.close());
  const files = [
    file('pyproject.toml', '[project]\nname = "svc"\nversion = "0.1.0"\n'),
    file('app/__main__.py', 'print(1)\n'),
  ];
  const { pod, configMaps, runtime } = labOf(files, null);
  t.is(runtime.kind, 'uv');
  const { world, last } = worldOf(configMaps);
  const running = kubelet.run(pod, world);
  t.teardown(() => running.stop());
  await until(() => judgePod('app-1', last()).kind === 'failed', 'the pod failed', 30_000);
  const verdict = judgePod('app-1', last()) as { reason: string };
  t.regex(verdict.reason, /ErrImageNeverPull/);
  t.regex(verdict.reason, /cannot run image "ghcr\.io\/astral-sh\/uv/);
  t.false(existsSync('/app'), 'nothing was mounted outside the pods’ own roots');
});

kubeletTest(
  'through the fake API server and the production cluster adapter: the applied lab runs, the pods watch says ready, its Service answers, pods/log serves its log',
  async (t) => {
    const { kube } = await startKubeletCluster(t);
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'kubeconfig-')), 'config');
    writeFileSync(kubeconfig, kube.kubeconfig);
    const cluster = kubernetesCluster(loadKubeConfig(kubeconfig));
    const served = await serveBundle(t, { 'data/big.txt': 'fetched through the API server path\n' });
    const files = [
      file('package.json', JSON.stringify({ name: 'shop', scripts: { start: 'node server.js' } })),
      file('server.js', SERVER),
      file('lib/greeting.js', "module.exports = 'hello through the API';\n"),
      file('data/big.txt', 'y'.repeat(70 * 1024)),
    ];
    const objects = labObjectsOf(files, served.bundle);
    for (const step of APPLY_STEPS) await cluster.apply(objects[step]);
    const verdict = await new Promise<PodsVerdict>((resolve) => {
      const watch = cluster.watchPods('shop-lab', podSelectorOf('shop', 'd-1'), (each) => {
        if (each.kind !== 'waiting') {
          watch.stop();
          resolve(each);
        }
      });
    });
    t.deepEqual(verdict, { kind: 'ready', pods: 1 });
    const url = kube.serviceUrl('shop-lab', 'app')!;
    t.like(await (await fetch(`${url}/`)).json(), {
      greeting: 'hello through the API',
      big: 'fetched through the API server path',
    });
    const [pod] = kube.objects('Pod', 'shop-lab');
    const log = await fetch(`${kube.url}/api/v1/namespaces/shop-lab/pods/${pod!.metadata.name}/log?container=app`);
    t.is(log.status, 200);
    t.regex(await log.text(), /listening on \d+/);
  },
);

kubeletTest(
  'a Node app with a dependency from the npm registry and a lock file installs it in the lab (npm ci --omit=dev) and starts',
  async (t) => {
    const kubelet = new LocalKubelet();
    t.teardown(() => kubelet.close());
    // The lock file, as the repository would commit it: written by npm itself.
    const committed = withLockFile({
      name: 'uptime',
      private: true,
      scripts: { start: 'node server.js' },
      dependencies: { ms: '2.1.3' },
      devDependencies: { 'left-pad': '1.3.0' },
    });
    const files = [
      file('package.json', committed['package.json']),
      file('package-lock.json', committed['package-lock.json']),
      file(
        'server.js',
        `const ms = require('ms');
require('node:http').createServer((request, response) => {
  let dev = 'absent';
  try { require.resolve('left-pad'); dev = 'installed'; } catch {}
  response.end(JSON.stringify({ twoDays: ms('2 days'), dev }));
}).listen(Number(process.env.PORT));
`,
      ),
    ];
    const { pod, configMaps } = labOf(files, null);
    const { world, last } = worldOf(configMaps);
    const running = kubelet.run(pod, world);
    t.teardown(() => running.stop());
    await until(() => judgePod('app-1', last()).kind !== 'waiting', 'the pod ready or failed', 120_000);
    t.deepEqual(judgePod('app-1', last()), { kind: 'ready' }, kubelet.logs('shop-lab', 'app-1'));
    const answer = await (await fetch(`http://127.0.0.1:${running.portOf(3000)!}/`)).json();
    t.deepEqual(answer, { twoDays: 172_800_000, dev: 'absent' }, 'the dependency from the lock file, no devDependency');
    t.regex(kubelet.logs('shop-lab', 'app-1') ?? '', /added 1 package/);
  },
);

kubeletTest(
  'a Job runs its pod once and records how it ended: Complete with its output in pods/log, Failed with its exit, DeadlineExceeded past activeDeadlineSeconds',
  async (t) => {
    const { kube } = await startKubeletCluster(t);
    const post = (path: string, body: object) =>
      fetch(`${kube.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    t.is(
      (await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop-lab' } }))
        .status,
      201,
    );
    const job = (name: string, script: string, activeDeadlineSeconds = 60) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name },
      spec: {
        activeDeadlineSeconds,
        backoffLimit: 0,
        template: {
          spec: {
            automountServiceAccountToken: false,
            restartPolicy: 'Never',
            containers: [{ name: 'tests', image: 'busybox:1.36', command: ['sh', '-c', script] }],
          },
        },
      },
    });
    for (const [name, script, deadline] of [
      ['unit', 'echo "--- junit ---"; echo "<testsuite tests=\\"1\\"/>"; echo "--- end ---"', 60],
      ['broken', 'echo "assertion failed" >&2; exit 2', 60],
      ['slow', 'sleep 30', 1],
    ] as const)
      t.is((await post('/apis/batch/v1/namespaces/shop-lab/jobs', job(name, script, deadline))).status, 201);
    const conditionOf = (name: string) =>
      kube.objects('Job', 'shop-lab').find((each) => each.metadata.name === name)?.['status'] as
        { conditions?: { type: string; reason?: string }[]; succeeded?: number; failed?: number } | undefined;
    await until(
      () => ['unit', 'broken', 'slow'].every((name) => (conditionOf(name)?.conditions ?? []).length > 0),
      'every Job ended',
      30_000,
    );
    t.like(conditionOf('unit'), { succeeded: 1, conditions: [{ type: 'Complete' }] });
    t.like(conditionOf('broken'), { failed: 1, conditions: [{ type: 'Failed' }] });
    t.like(conditionOf('slow'), { failed: 1, conditions: [{ type: 'Failed', reason: 'DeadlineExceeded' }] });
    const pod = kube.objects('Pod', 'shop-lab').find((each) => each.metadata.labels?.['job-name'] === 'unit')!;
    const log = await (await fetch(`${kube.url}/api/v1/namespaces/shop-lab/pods/${pod.metadata.name}/log`)).text();
    t.regex(log, /--- junit ---\n<testsuite tests="1"\/>\n--- end ---/);
    const broken = kube.objects('Pod', 'shop-lab').find((each) => each.metadata.labels?.['job-name'] === 'broken')!;
    t.like(broken['status'], { phase: 'Failed', containerStatuses: [{ state: { terminated: { exitCode: 2 } } }] });
  },
);
