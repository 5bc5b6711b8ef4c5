import * as E from 'fp-ts/lib/Either.js';
import test from 'ava';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { splitIntoBundles } from '../../src/labs/bundles.js';
import type { RepoFile } from '../../src/labs/repo-file.js';
import { detectRuntime, type Runtime } from '../../src/labs/runtime.js';
import { writeKustomization } from '../../src/labs/kustomize.js';
import {
  APPLY_STEPS,
  codeDigest,
  labObjects,
  MANAGED_BY_LABEL,
  MANAGER,
  type KubeObject,
  type LabInput,
  type LabSettings,
} from '../../src/labs/manifests.js';
import { KINDS, validateManifest } from '../k8s/kubernetes-schema.js';

const KiB = 1024;
const text = (path: string, content: string, executable = false): RepoFile => ({
  path,
  content: Buffer.from(content),
  binary: false,
  executable,
});

const FILES: RepoFile[] = [
  text('package.json', '{"name":"shop","scripts":{"start":"node src/index.js"}}\n'),
  text('src/index.js', 'require("http").createServer((q, s) => s.end("ok")).listen(process.env.PORT)\n'),
  text('scripts/run.sh', '#!/bin/sh\nexec node src/index.js\n', true),
  text('docs/weird name #1.md', `# odd\n${'x'.repeat(20 * KiB)}\n`),
  text('src/catalog.js', `export const items = ${JSON.stringify('y'.repeat(20 * KiB))};\n`),
  {
    path: 'img/logo.png',
    content: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe]),
    binary: true,
    executable: false,
  },
  { path: 'data/model.bin', content: Buffer.alloc(40 * KiB, 7), binary: true, executable: false },
];

const SETTINGS: LabSettings = {
  ingressClass: 'nginx',
  clusterIssuer: 'letsencrypt',
  storageClass: 'fast-ssd',
  fetchImage: 'busybox:1.36',
};

const runtimeOf = (files: readonly RepoFile[]): Runtime => {
  const runtime = detectRuntime(new Map(files.map((file) => [file.path, file.content.toString('utf8')])), {
    env: { MODE: 'lab' },
  });
  if (E.isLeft(runtime)) throw new Error(runtime.left);
  return runtime.right;
};

const inputOf = (files: readonly RepoFile[]): LabInput => {
  // 48 KiB ConfigMaps keep 32 KiB of data each: the 40 KiB model goes to the PVC.
  const { configmaps, pvc } = splitIntoBundles(files, 48 * KiB);
  return {
    project: 'shop',
    namespace: 'shop-lab',
    host: 'shop.labs.example.com',
    deploymentId: 'dep-1',
    sessionId: 'ses-1',
    runtime: runtimeOf(files),
    files,
    configmaps,
    pvc,
    bundle:
      pvc.files.length > 0
        ? { url: 'https://gateway.example.com/labs/bundles/abc.tar.gz?expires=1&signature=s', sha256: 'a'.repeat(64) }
        : null,
  };
};

const names = (objects: readonly KubeObject[]) => objects.map((object) => `${object.kind}/${object.metadata.name}`);
type Pod = { metadata: { annotations: Record<string, string> }; spec: Record<string, any> };
const podOf = (objects: Record<string, KubeObject[]>): Pod =>
  (objects['manifests']!.find((object) => object.kind === 'Deployment')!['spec'] as { template: Pod }).template;

test('each step has its kinds and names, every object is labelled and namespaced, and the known kinds validate', (t) => {
  const objects = labObjects(inputOf(FILES), SETTINGS);
  t.deepEqual(Object.keys(objects), [...APPLY_STEPS]);
  t.deepEqual(names(objects.namespace), ['Namespace/shop-lab']);
  t.deepEqual(names(objects.rbac), [
    'ServiceAccount/lab',
    'Role/lab',
    'RoleBinding/lab',
    'ResourceQuota/lab-quota',
    'LimitRange/lab-limits',
  ]);
  t.deepEqual(names(objects.configmaps), ['ConfigMap/code-0', 'ConfigMap/code-1']);
  t.deepEqual(names(objects.pvcs), ['PersistentVolumeClaim/code-large']);
  t.deepEqual(names(objects.manifests), ['Deployment/app', 'Service/app']);
  t.deepEqual(names(objects.ingress), ['Ingress/app']);
  for (const object of Object.values(objects).flat()) {
    t.is(object.metadata.labels?.[MANAGED_BY_LABEL], MANAGER, names([object])[0]);
    t.is(object.metadata.labels?.['ai-dev-gateway/project'], 'shop');
    t.is(object.metadata.namespace, object.kind === 'Namespace' ? undefined : 'shop-lab');
    if (KINDS[object.kind]) t.deepEqual(validateManifest(object), [], names([object])[0]);
  }
  t.deepEqual(objects.namespace[0]!.metadata.annotations, {
    'ai-dev-gateway/session': 'ses-1',
    'ai-dev-gateway/deployment': 'dep-1',
  });
  t.like(objects.pvcs[0], {
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'fast-ssd' },
  });
  t.like(
    objects.rbac.find((object) => object.kind === 'ResourceQuota'),
    { spec: { hard: { 'requests.cpu': '2', 'limits.memory': '8Gi', 'requests.storage': '20Gi' } } },
  );
});

test('ConfigMaps hold text as data and binaries as base64, and the projected volume maps every key back to its exact path', (t) => {
  const input = inputOf(FILES);
  const objects = labObjects(input, SETTINGS);
  const pod = podOf(objects);
  const projected = pod.spec['volumes'].find((volume: { name: string }) => volume.name === 'code-configmaps').projected;
  const delivered = new Map<string, { content: Buffer; mode?: number }>();
  for (const source of projected.sources as {
    configMap: { name: string; items: { key: string; path: string; mode?: number }[] };
  }[]) {
    const configMap = objects.configmaps.find((object) => object.metadata.name === source.configMap.name)!;
    const data = (configMap['data'] ?? {}) as Record<string, string>;
    const binaryData = (configMap['binaryData'] ?? {}) as Record<string, string>;
    t.deepEqual(
      [...Object.keys(data), ...Object.keys(binaryData)].sort(),
      source.configMap.items.map((item) => item.key).sort(),
    );
    for (const item of source.configMap.items) {
      const content = item.key in data ? Buffer.from(data[item.key]!) : Buffer.from(binaryData[item.key]!, 'base64');
      delivered.set(item.path, { content, ...(item.mode === undefined ? {} : { mode: item.mode }) });
    }
  }
  const inConfigMaps = FILES.filter((file) => file.path !== 'data/model.bin');
  t.deepEqual([...delivered.keys()].sort(), inConfigMaps.map((file) => file.path).sort());
  for (const file of inConfigMaps) t.deepEqual(delivered.get(file.path)!.content, file.content, file.path);
  t.is(delivered.get('scripts/run.sh')!.mode, 0o755, 'an executable keeps its exec bit');
  t.truthy(
    objects.configmaps.some((object) => (object['binaryData'] as Record<string, string> | undefined) !== undefined),
  );
});

test('the pod: code gathered by the init container from the ConfigMaps and the bundle, the app run as its runtime says', (t) => {
  const input = inputOf(FILES);
  const pod = podOf(labObjects(input, SETTINGS));
  t.deepEqual(
    pod.spec['volumes'].map((volume: { name: string }) => volume.name),
    ['code-configmaps', 'code-large', 'app'],
  );
  const [prepare] = pod.spec['initContainers'];
  t.is(prepare.image, 'busybox:1.36');
  t.deepEqual(prepare.command.slice(0, 2), ['sh', '-c']);
  t.regex(prepare.command[2], /\[ ! -e "\/bundle\/\.sha256-\$BUNDLE_SHA256" \]/);
  t.regex(prepare.command[2], /wget -qO- "\$BUNDLE_URL" \| tar -xzf - -C \/bundle\/files/);
  t.regex(prepare.command[2], /cp -rL \/code-configmaps\/\. \/app\//);
  t.deepEqual(prepare.env, [
    { name: 'BUNDLE_URL', value: input.bundle!.url },
    { name: 'BUNDLE_SHA256', value: input.bundle!.sha256 },
  ]);
  const [app] = pod.spec['containers'];
  t.like(app, {
    name: 'app',
    image: 'node:20-slim',
    workingDir: '/app',
    ports: [{ containerPort: 3000 }],
    readinessProbe: { httpGet: { path: '/', port: 3000 } },
  });
  // Dependencies installed in the writable /app (from the lock file when there is one), then the app's own start.
  t.deepEqual(app.command.slice(0, 2), ['sh', '-c']);
  t.regex(app.command[2], /npm ci --omit=dev[\s\S]*npm install --omit=dev[\s\S]*exec npm start$/);
  t.deepEqual(app.env, [
    { name: 'MODE', value: 'lab' },
    { name: 'PORT', value: '3000' },
  ]);
  t.is(pod.spec['serviceAccountName'], 'lab');
  t.is(pod.metadata.annotations['ai-dev-gateway/code-sha256'], codeDigest(FILES));
});

test('without large files there is no PVC, no PVC volume and no fetch env', (t) => {
  const small = FILES.filter((file) => file.path !== 'data/model.bin');
  const input = inputOf(small);
  t.is(input.bundle, null);
  const objects = labObjects(input, SETTINGS);
  t.deepEqual(objects.pvcs, []);
  const pod = podOf(objects);
  t.deepEqual(
    pod.spec['volumes'].map((volume: { name: string }) => volume.name),
    ['code-configmaps', 'app'],
  );
  t.is(pod.spec['initContainers'][0].env, undefined);
  t.false(JSON.stringify(objects).includes('BUNDLE_URL"'), 'no env var named BUNDLE_URL');
});

test('the PVC is twice the large files, in whole Gi; no storage class when none is set', (t) => {
  const input = inputOf(FILES);
  const [pvc] = labObjects(
    { ...input, pvc: { ...input.pvc, bytes: 1.5 * 1024 ** 3 } },
    { ...SETTINGS, storageClass: null },
  ).pvcs;
  t.deepEqual(pvc!['spec'], { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '3Gi' } } });
  const storageWith = (pvcHeldGi: number) =>
    (labObjects({ ...input, pvcHeldGi }, SETTINGS).pvcs[0]!['spec'] as { resources: { requests: { storage: string } } })
      .resources.requests.storage;
  t.is(storageWith(5), '5Gi', 'a PVC that holds more keeps it: a real API server refuses to shrink one');
  t.is(storageWith(0), '1Gi');
});

test('the Ingress has the class, the issuer annotation and a TLS certificate for the host', (t) => {
  const [ingress] = labObjects(inputOf(FILES), SETTINGS).ingress;
  t.is(ingress!.metadata.annotations?.['cert-manager.io/cluster-issuer'], 'letsencrypt');
  t.like(ingress!['spec'], {
    ingressClassName: 'nginx',
    tls: [{ hosts: ['shop.labs.example.com'], secretName: 'shop-lab-tls' }],
  });
  t.deepEqual((ingress!['spec'] as { rules: unknown[] }).rules, [
    {
      host: 'shop.labs.example.com',
      http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app', port: { number: 80 } } } }] },
    },
  ]);
});

test('the same input gives the same objects; a changed file changes the pod annotation', (t) => {
  t.deepEqual(labObjects(inputOf(FILES), SETTINGS), labObjects(inputOf(FILES), SETTINGS));
  const changed = FILES.map((file) =>
    file.path === 'src/index.js' ? text(file.path, `${file.content.toString()}// v2\n`) : file,
  );
  t.not(
    podOf(labObjects(inputOf(changed), SETTINGS)).metadata.annotations['ai-dev-gateway/code-sha256'],
    podOf(labObjects(inputOf(FILES), SETTINGS)).metadata.annotations['ai-dev-gateway/code-sha256'],
  );
  const chmodded = FILES.map((file) => (file.path === 'src/index.js' ? { ...file, executable: true } : file));
  t.not(codeDigest(chmodded), codeDigest(FILES), 'the exec bit counts');
  t.is(codeDigest([...FILES].reverse()), codeDigest(FILES), 'the order of the files does not');
});

test('the kustomization lists one file per step with objects; a second write replaces the first; objects round-trip', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-kustomize-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const objects = labObjects(inputOf(FILES), SETTINGS);
  const written = await writeKustomization(dir, objects);
  t.deepEqual(written, [
    'namespace.yaml',
    'rbac.yaml',
    'configmaps.yaml',
    'pvcs.yaml',
    'manifests.yaml',
    'ingress.yaml',
    'kustomization.yaml',
  ]);
  const kustomization = parse(await readFile(join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
  t.deepEqual(kustomization, {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: written.slice(0, -1),
  });
  for (const step of APPLY_STEPS) {
    const documents = parseAllDocuments(await readFile(join(dir, `${step}.yaml`), 'utf8')).map(
      (document) => document.toJS() as unknown,
    );
    t.deepEqual(documents, objects[step], step);
  }

  const smaller = labObjects(inputOf(FILES.filter((file) => file.path !== 'data/model.bin')), SETTINGS);
  const rewritten = await writeKustomization(dir, { ...smaller, ingress: [] });
  t.deepEqual(rewritten, ['namespace.yaml', 'rbac.yaml', 'configmaps.yaml', 'manifests.yaml', 'kustomization.yaml']);
  t.deepEqual(
    (await readdir(dir)).sort(),
    [...rewritten].sort(),
    'files of steps no longer listed are gone, and no temp file is left',
  );
  t.deepEqual(
    (parse(await readFile(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] }).resources,
    rewritten.slice(0, -1),
  );
  const manifests = parseAllDocuments(await readFile(join(dir, 'manifests.yaml'), 'utf8')).map(
    (document) => document.toJS() as unknown,
  );
  t.deepEqual(manifests, smaller.manifests);
});
