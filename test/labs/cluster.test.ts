import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubernetesCluster, loadKubeConfig } from '../../src/labs/cluster.js';
import { PermanentKubeError } from '../../src/labs/kube-calls.js';
import { MANAGED_BY_LABEL, MANAGER, type KubeObject } from '../../src/labs/manifests.js';
import { startFakeKube } from '../support/fake-kube.js';

const clusterOn = async (t: import('ava').ExecutionContext, options: Parameters<typeof startFakeKube>[0] = {}) => {
  const fake = await startFakeKube(options);
  t.teardown(() => fake.close());
  const dir = await mkdtemp(join(tmpdir(), 'cluster-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'kubeconfig.yaml'), fake.kubeconfig);
  return { fake, cluster: kubernetesCluster(loadKubeConfig(join(dir, 'kubeconfig.yaml'))) };
};

const lab = (name: string): KubeObject[] => [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [MANAGED_BY_LABEL]: MANAGER } } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'code', namespace: name }, data: { 'server.js': 'ok' } },
  {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'files', namespace: name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
  },
];

test('applies go over one kept-alive connection (the library alone opens one per request), and what they applied is read back', async (t) => {
  const { fake, cluster } = await clusterOn(t);
  await cluster.apply(lab('lab-a'));
  await cluster.apply(lab('lab-b'));
  t.deepEqual(
    fake.objects('ConfigMap').map((object) => `${object.metadata.namespace}/${object.metadata.name}`),
    ['lab-a/code', 'lab-b/code'],
  );
  t.is(fake.requests.get('PATCH ConfigMap'), 2);
  t.is(await cluster.pvcSizeGi('lab-a', 'files'), 2, 'reads still get the object');
  t.is(await cluster.pvcSizeGi('lab-a', 'none'), undefined);
  const requests = [...fake.requests.values()].reduce((sum, count) => sum + count, 0);
  t.true(requests >= 8, `${requests} requests`);
  t.is(fake.connections(), 1, `${requests} requests over ${fake.connections()} connections`);
  t.is(await cluster.deleteNamespace('lab-a'), 'deleted');
  t.is(await cluster.deleteNamespace('lab-a'), 'absent');
});

test('an object the API server refuses is a permanent error carrying the server’s message', async (t) => {
  const { cluster } = await clusterOn(t, {
    refuse: ({ kind }) => (kind === 'ConfigMap' ? 'data too long' : undefined),
  });
  const error = await t.throwsAsync(cluster.apply(lab('lab-c')), { instanceOf: PermanentKubeError });
  t.regex(error!.message, /^HTTP 422: .*data too long/);
});
