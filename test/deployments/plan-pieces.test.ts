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

  const { commit, files } = await readCommitFiles(join(repo, '.git'), 'main');
  t.is(commit, head);
  t.deepEqual(
    files.map((file) => file.path),
    ['.gitignore', 'docs/weird name #1.md', 'logo.png', 'package.json', 'run.sh', 'src/index.js'],
  );
  t.true(files.find((file) => file.path === 'logo.png')!.binary);
  t.false(files.find((file) => file.path === 'src/index.js')!.binary);
  t.true(files.find((file) => file.path === 'run.sh')!.executable);
  t.is(files.find((file) => file.path === 'src/index.js')!.content.toString(), 'console.log("hi")\n');
  await t.throwsAsync(() => readCommitFiles(join(repo, '.git'), '--upload-pack=x'), { message: /ref/ });
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

/** Files by path: a path alone is an empty file. */
const texts = (...entries: (string | [string, string])[]): Map<string, string> =>
  new Map(entries.map((entry) => (typeof entry === 'string' ? [entry, ''] : entry)));

const startOf = (files: Map<string, string>): string => {
  const runtime = detectRuntime(files, {});
  if (E.isLeft(runtime)) throw new Error(runtime.left);
  return runtime.right.command.join(' ');
};

const refusalOf = (files: Map<string, string>): string => {
  const runtime = detectRuntime(files, {});
  return E.isLeft(runtime) ? runtime.left : `not refused: ${runtime.right.command.join(' ')}`;
};

const PACKAGE_JSON: [string, string] = ['package.json', '{"scripts":{"start":"node index.js"}}'];

test('the runtime is detected from the files, and the lab manifest overrides it', (t) => {
  t.like(detectRuntime(texts('pyproject.toml', 'app/__main__.py'), {}), E.right({ kind: 'uv' }));
  t.like(detectRuntime(texts('requirements.txt', '__main__.py'), {}), E.right({ kind: 'uv' }));
  t.like(
    detectRuntime(texts('routes/orders.camel.yaml'), {}),
    E.right({ kind: 'camel-jbang', port: 8080, healthPath: '/q/health' }),
  );
  t.like(
    detectRuntime(texts(PACKAGE_JSON, 'src/index.js'), {}),
    E.right({ kind: 'node', port: 3000, healthPath: '/' }),
  );
  t.regex(refusalOf(texts('README.md')), /cannot tell how to run this repository/);
  t.deepEqual(
    detectRuntime(texts('package.json'), {
      image: 'node:22',
      command: ['node', 'server.js'],
      port: 8080,
      health_path: '/healthz',
      env: { MODE: 'lab' },
    }),
    E.right({
      kind: 'node',
      image: 'node:22',
      command: ['node', 'server.js'],
      port: 8080,
      healthPath: '/healthz',
      env: { MODE: 'lab' },
    }),
  );
  t.like(detectRuntime(texts('README.md'), { runtime: 'uv', command: ['python', 'x.py'] }), E.right({ kind: 'uv' }));
  t.like(
    detectRuntime(texts('requirements.txt', '__main__.py'), {}),
    E.right({ env: { UV_PROJECT_ENVIRONMENT: '/app/.venv', UV_CACHE_DIR: '/app/.cache/uv' } }),
    'uv keeps its environment and cache on the writable emptyDir',
  );
});

test('how a lab starts comes from what the repository declares, its dependencies installed first; what cannot be told is said at plan time', (t) => {
  // Node: npm start, after npm ci (lock file) or npm install, without devDependencies.
  t.regex(startOf(texts(PACKAGE_JSON)), /npm ci --omit=dev[\s\S]*npm install --omit=dev[\s\S]*exec npm start$/);
  t.regex(
    startOf(texts(['package.json', '{}'], 'server.js')),
    /exec npm start$/,
    'npm start runs server.js without a start script',
  );
  t.regex(refusalOf(texts(['package.json', '{"name":"x"}'])), /no "start" script and there is no server.js/);
  t.regex(refusalOf(texts(['package.json', '{'])), /package.json is not valid JSON/);

  // Python: an entry point of [project.scripts] (uv builds it only with a [build-system]), __main__.py, or one package's.
  const pyproject = '[project]\nname = "svc"\nversion = "0.1.0"\n[project.scripts]\nserve-api = "svc.main:run"\n';
  t.regex(
    startOf(
      texts([
        'pyproject.toml',
        `${pyproject}[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n`,
      ]),
    ),
    /uv sync --frozen --no-dev[\s\S]*uv sync --no-dev[\s\S]*exec uv run --no-sync serve-api$/,
  );
  t.regex(refusalOf(texts(['pyproject.toml', pyproject])), /\[project.scripts\] but no \[build-system\]/);
  t.regex(refusalOf(texts(['pyproject.toml', 'not = [toml'])), /pyproject.toml is not valid TOML/);
  t.regex(
    startOf(texts('requirements.txt', '__main__.py')),
    /uv venv "\/app\/.venv" && uv pip install --python "\/app\/.venv" -r requirements.txt[\s\S]*exec uv run --no-sync python __main__.py$/,
  );
  t.regex(startOf(texts('pyproject.toml', 'shop/__main__.py', 'shop/api.py')), /exec uv run --no-sync python -m shop$/);
  t.regex(refusalOf(texts('requirements.txt', 'app.py')), /cannot tell how to start this Python app/);
  t.regex(
    refusalOf(texts('requirements.txt', 'a/__main__.py', 'b/__main__.py')),
    /packages a, b each have a __main__.py/,
  );

  // Camel JBang: the routes listed as arguments (no shell expands them), with the properties.
  const camel = detectRuntime(texts('routes/orders.camel.yaml', 'b.camel.xml', 'application.properties'), {});
  t.like(camel, E.right({ kind: 'camel-jbang' }));
  if (E.isRight(camel)) {
    t.deepEqual(camel.right.command.slice(3), [
      'camel',
      'b.camel.xml',
      'routes/orders.camel.yaml',
      'application.properties',
    ]);
    t.regex(camel.right.command[2]!, /camel@apache\/camel run --port="\$PORT" --health "\$@"$/);
  }
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
  const packageJson = { ...file('package.json', 0), content: Buffer.from('{"scripts":{"start":"node src/index.js"}}') };
  const files = [packageJson, file('src/index.js', 500), file('assets/video.bin', 2 * MiB, true)];
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
  const noStart = planDeployment({
    project: 'billing',
    files: [{ ...file('package.json', 0), content: Buffer.from('{"name":"billing"}') }],
    ingressDomain: 'x.io',
    maxConfigMapSize: MiB,
  });
  t.true(E.isLeft(noStart) && /cannot tell how to start this Node app/.test(noStart.left), 'said at plan time');
  const badManifest = planDeployment({
    project: 'billing',
    files: [file('package.json', 10), { ...file('.lab.yaml', 0), content: Buffer.from('port: many\n') }],
    ingressDomain: 'x.io',
    maxConfigMapSize: MiB,
  });
  t.true(E.isLeft(badManifest) && /\.lab\.yaml: port/.test(badManifest.left));
});
