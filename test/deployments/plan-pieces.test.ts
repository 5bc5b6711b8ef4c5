import test from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { splitIntoBundles } from '../../src/labs/bundles.js';
import { parseLabManifest } from '../../src/labs/lab-manifest.js';
import { planDeployment } from '../../src/deployments/plan.js';
import type { RepoFile } from '../../src/labs/repo-file.js';
import { readCommitFiles } from '../../src/deployments/repo-files.js';
import { detectRuntime } from '../../src/labs/runtime.js';

const MiB = 1024 * 1024;

test('the files of a commit are git’s own list: tracked files only, with binaries and executables told apart', async (t) => {
  const repo = await mkdtemp(join(tmpdir(), 'deploy-files-'));
  t.teardown(() => rm(repo, { recursive: true, force: true }));
  await simpleGit().raw(['init', '-q', '-b', 'main', repo]);
  await mkdir(join(repo, 'src'));
  await mkdir(join(repo, 'docs'));
  await writeFile(join(repo, 'package.json'), '{"name":"app","scripts":{"start":"node src/index.js"}}\n');
  await writeFile(join(repo, 'src', 'index.js'), 'console.log("hi")\n');
  await writeFile(join(repo, 'docs', 'weird name #1.md'), '# odd\n');
  await writeFile(
    join(repo, 'logo.png'),
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0xff]),
  );
  await writeFile(join(repo, 'run.sh'), '#!/bin/sh\necho run\n');
  await chmod(join(repo, 'run.sh'), 0o755);
  await writeFile(join(repo, '.gitignore'), 'secret.env\n');
  await writeFile(join(repo, 'secret.env'), 'TOKEN=x\n');
  await simpleGit(repo).add('.');
  await simpleGit(repo).raw(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init']);
  await writeFile(join(repo, 'uncommitted.txt'), 'not yet\n');
  const head = (await simpleGit(repo).revparse(['HEAD'])).trim();

  const { commit, files } = await readCommitFiles(repo, 'main');
  t.is(commit, head);
  t.deepEqual(
    files.map((file) => file.path),
    ['.gitignore', 'docs/weird name #1.md', 'logo.png', 'package.json', 'run.sh', 'src/index.js'],
  );
  t.true(files.find((file) => file.path === 'logo.png')!.binary);
  t.false(files.find((file) => file.path === 'src/index.js')!.binary);
  t.true(files.find((file) => file.path === 'run.sh')!.executable);
  t.is(files.find((file) => file.path === 'src/index.js')!.content.toString(), 'console.log("hi")\n');
  await t.throwsAsync(() => readCommitFiles(repo, '--upload-pack=x'), { message: /ref/ });
});

const file = (path: string, bytes: number, binary = false): RepoFile => ({
  path,
  content: Buffer.alloc(bytes, binary ? 0 : 0x61),
  binary,
  executable: false,
});

test('files are packed into ConfigMaps under the size limit; a file too big for one goes into the PVC; keys are safe and map back to paths', (t) => {
  const files = [
    file('big/data.json', 1.2 * MiB),
    file('src/a.js', 400_000),
    file('src/b.js', 400_000),
    file('src/c.js', 400_000),
    file('img/logo.png', 90_000, true),
    file('docs/weird name #1.md', 10),
  ];
  const { configmaps, pvc } = splitIntoBundles(files, MiB);
  t.deepEqual(
    pvc.files.map((entry) => entry.path),
    ['big/data.json'],
  );
  t.is(pvc.name, 'code-large');
  t.deepEqual(
    configmaps.map((bundle) => bundle.name),
    ['code-0', 'code-1'],
  );
  for (const bundle of configmaps) t.true(bundle.bytes <= MiB - 16 * 1024, `${bundle.name} weighs ${bundle.bytes}`);
  const all = configmaps.flatMap((bundle) => bundle.files);
  t.deepEqual(all.map((entry) => entry.path).sort(), [
    'docs/weird name #1.md',
    'img/logo.png',
    'src/a.js',
    'src/b.js',
    'src/c.js',
  ]);
  for (const entry of all) t.regex(entry.key, /^[-._a-zA-Z0-9]{1,253}$/);
  t.is(new Set(all.map((entry) => entry.key)).size, all.length, 'keys are unique');
  t.true(all.find((entry) => entry.path === 'img/logo.png')!.binary);
  // A binary weighs its base64 form: 90,000 bytes take 120,000.
  const withLogo = configmaps.find((bundle) => bundle.files.some((entry) => entry.path === 'img/logo.png'))!;
  t.true(withLogo.bytes >= 120_000);
});

test('the runtime is detected from the files, and the lab manifest overrides it', (t) => {
  t.like(detectRuntime(['pyproject.toml', 'app/__init__.py'], {}), { kind: 'uv' });
  t.like(detectRuntime(['requirements.txt'], {}), { kind: 'uv' });
  t.like(detectRuntime(['routes/orders.camel.yaml'], {}), { kind: 'camel-jbang' });
  t.like(detectRuntime(['package.json', 'src/index.js'], {}), { kind: 'node', port: 3000, healthPath: '/' });
  t.is(detectRuntime(['README.md'], {}), undefined);
  t.deepEqual(
    detectRuntime(['package.json'], {
      image: 'node:22',
      command: ['node', 'server.js'],
      port: 8080,
      health_path: '/healthz',
      env: { MODE: 'lab' },
    }),
    {
      kind: 'node',
      image: 'node:22',
      command: ['node', 'server.js'],
      port: 8080,
      healthPath: '/healthz',
      env: { MODE: 'lab' },
    },
  );
  t.like(detectRuntime(['README.md'], { runtime: 'uv' }), { kind: 'uv' });
});

test('a lab manifest is checked, every bad key named; an absent one is empty', (t) => {
  t.deepEqual(parseLabManifest(undefined), E.right({}));
  const good = parseLabManifest(
    'runtime: node\nport: 8080\ntests:\n  unit: [npm, test]\nacceptance:\n  - name: home\n    path: /\n    expect_status: 200\n',
  );
  t.true(E.isRight(good));
  const bad = parseLabManifest('port: eighty\nruntime: ruby\nacceptance:\n  - path: /\n');
  t.true(E.isLeft(bad));
  if (E.isLeft(bad)) {
    t.regex(bad.left, /port/);
    t.regex(bad.left, /runtime/);
    t.regex(bad.left, /acceptance\[0\]\.name/);
  }
  t.regex(E.isLeft(parseLabManifest('a: [')) ? 'left' : 'right', /left/);
});

test('a plan names the namespace, the bundles with their sizes, the runtime, the URL and the steps', (t) => {
  const files = [file('package.json', 40), file('src/index.js', 500), file('assets/video.bin', 2 * MiB, true)];
  const planned = planDeployment({
    project: 'billing',
    files,
    ingressDomain: 'builder.lab.ctoaas.co',
    maxConfigMapSize: MiB,
  });
  if (E.isLeft(planned)) return t.fail(planned.left);
  t.like(planned.right.plan, {
    namespace: 'billing-lab',
    strategy: 'configmap_pvc',
    runtime: { kind: 'node', image: 'node:20-slim' },
    pvcs: [{ name: 'code-large', files: 1, bytes: 2 * MiB }],
    url: 'https://billing.builder.lab.ctoaas.co',
    steps: ['namespace', 'rbac', 'configmaps', 'pvcs', 'manifests', 'ingress', 'pods_ready', 'tests'],
  });
  t.deepEqual(
    planned.right.plan.configmaps.map((bundle) => [bundle.name, bundle.files]),
    [['code-0', 2]],
  );
  const unknown = planDeployment({
    project: 'billing',
    files: [file('README.md', 10)],
    ingressDomain: 'x.io',
    maxConfigMapSize: MiB,
  });
  t.true(E.isLeft(unknown) && /cannot tell how to run this repository/.test(unknown.left));
  const badManifest = planDeployment({
    project: 'billing',
    files: [file('package.json', 10), { ...file('.lab.yaml', 0), content: Buffer.from('port: many\n') }],
    ingressDomain: 'x.io',
    maxConfigMapSize: MiB,
  });
  t.true(E.isLeft(badManifest) && /\.lab\.yaml: port/.test(badManifest.left));
});
