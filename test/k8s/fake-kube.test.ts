import test, { type ExecutionContext } from 'ava';
import {
  ApiException,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { startFakeKube, type PodScenario } from '../support/fake-kube.js';

/**
 * The fake Kubernetes API server answers the real `@kubernetes/client-node` calls the
 * deployment code will make: discovery, server-side apply, read, list by label, delete, watch,
 * and the real API's error statuses.
 */
const setUp = async (t: ExecutionContext) => {
  const fake = await startFakeKube();
  t.teardown(() => fake.close());
  const config = new KubeConfig();
  config.loadFromString(fake.kubeconfig);
  return { fake, config, api: KubernetesObjectApi.makeApiClient(config) };
};

const FIELD_MANAGER = 'ai-dev-gateway';
const ssa = (
  api: KubernetesObjectApi,
  object: KubernetesObject & { metadata: { name: string }; [field: string]: unknown },
): Promise<KubernetesObject> =>
  api.patch<KubernetesObject>(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);

test('server-side apply creates, then converges without duplicates; reads, lists by label and deletes', async (t) => {
  const { fake, api } = await setUp(t);
  const namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'billing-lab', labels: { 'app.kubernetes.io/managed-by': 'ai-dev-gateway' } },
  };
  await ssa(api, namespace);
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'code-0', namespace: 'billing-lab', labels: { lab: 'billing' } },
    data: { 'a.js': 'x' },
  };
  const first = await ssa(api, configMap);
  const again = await ssa(api, configMap);
  t.is(
    again.metadata?.resourceVersion,
    first.metadata?.resourceVersion,
    'applying the same object again changes nothing',
  );
  await ssa(api, { ...configMap, data: { 'a.js': 'y' } });
  t.is(fake.objects('ConfigMap', 'billing-lab').length, 1, 'one object, applied three times');
  const read = await api.read({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'code-0', namespace: 'billing-lab' },
  });
  t.deepEqual((read as unknown as { data: unknown }).data, { 'a.js': 'y' });
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'app', namespace: 'billing-lab', labels: { lab: 'billing' } },
    spec: { replicas: 1 },
  };
  await ssa(api, deployment);
  const listed = await api.list('v1', 'ConfigMap', 'billing-lab', undefined, undefined, undefined, 'lab=billing');
  t.deepEqual(
    listed.items.map((item) => item.metadata?.name),
    ['code-0'],
  );
  await api.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'billing-lab' } });
  t.deepEqual(fake.objects('ConfigMap'), [], 'deleting the namespace took its objects');
  t.deepEqual(fake.objects('Deployment'), []);
});

test('errors are the real API’s statuses: 404 NotFound, 409 AlreadyExists, 422 without a field manager', async (t) => {
  const { fake, api } = await setUp(t);
  const missing = await t.throwsAsync(() =>
    api.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nope', namespace: 'default' } }),
  );
  t.true(missing instanceof ApiException);
  t.is((missing as ApiException<unknown>).code, 404);
  const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'billing-lab' } };
  await api.create(namespace);
  const twice = await t.throwsAsync(() => api.create(namespace));
  t.is((twice as ApiException<unknown>).code, 409);
  t.regex(String((twice as ApiException<string>).body), /AlreadyExists/);
  const response = await fetch(`${fake.url}/api/v1/namespaces/billing-lab`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/apply-patch+yaml' },
    body: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: billing-lab\n',
  });
  t.is(response.status, 422);
  t.like(await response.json(), { kind: 'Status', reason: 'Invalid' });
  const noNamespace = await t.throwsAsync(() =>
    ssa(api, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'ghost' } }),
  );
  t.is((noNamespace as ApiException<unknown>).code, 404, 'objects need their namespace');
});

test('a watch streams changes after a resourceVersion', async (t) => {
  const { api, config } = await setUp(t);
  await ssa(api, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'billing-lab' } });
  const seen: string[] = [];
  const done = new Promise<void>((resolve) => {
    void new Watch(config)
      .watch(
        '/api/v1/namespaces/billing-lab/configmaps',
        {},
        (type, object: { metadata: { name: string } }) => {
          seen.push(`${type} ${object.metadata.name}`);
          if (seen.length === 3) resolve();
        },
        () => undefined,
      )
      .then((controller) => t.teardown(() => controller.abort()));
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await ssa(api, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'code-0', namespace: 'billing-lab' },
    data: { a: '1' },
  });
  await ssa(api, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'code-0', namespace: 'billing-lab' },
    data: { a: '2' },
  });
  await api.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'code-0', namespace: 'billing-lab' } });
  await done;
  t.deepEqual(seen, ['ADDED code-0', 'MODIFIED code-0', 'DELETED code-0']);
});

test('a Deployment’s pod becomes ready, or fails as a real cluster fails, per scenario', async (t) => {
  const scenarios: Record<string, PodScenario> = {
    good: 'ready',
    crash: 'crashloop',
    pull: 'image-pull',
    big: 'unschedulable',
  };
  const fake = await startFakeKube({ scenarioFor: ({ name }) => scenarios[name]!, podDelayMs: 20 });
  t.teardown(() => fake.close());
  const config = new KubeConfig();
  config.loadFromString(fake.kubeconfig);
  const api = KubernetesObjectApi.makeApiClient(config);
  await ssa(api, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lab' } });
  for (const name of Object.keys(scenarios)) {
    await ssa(api, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'lab' },
      spec: { template: { metadata: { labels: { app: name } } } },
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const pods = await api.list('v1', 'Pod', 'lab');
  const statusOf = (app: string) =>
    pods.items.find((pod) => pod.metadata?.labels?.['app'] === app) as unknown as {
      status: {
        phase: string;
        conditions: { type: string; status: string; reason?: string }[];
        containerStatuses?: { state: { waiting?: { reason: string } } }[];
      };
    };
  t.like(
    statusOf('good').status.conditions.find((condition) => condition.type === 'Ready'),
    { status: 'True' },
  );
  t.is(statusOf('crash').status.containerStatuses?.[0]?.state.waiting?.reason, 'CrashLoopBackOff');
  t.is(statusOf('pull').status.containerStatuses?.[0]?.state.waiting?.reason, 'ImagePullBackOff');
  t.like(
    statusOf('big').status.conditions.find((condition) => condition.type === 'PodScheduled'),
    { status: 'False', reason: 'Unschedulable' },
  );
  // Applying the Deployment again rolls its pod: still one per Deployment.
  await ssa(api, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'good', namespace: 'lab' },
    spec: { replicas: 1, template: { metadata: { labels: { app: 'good' } } } },
  });
  t.is(fake.objects('Pod', 'lab').filter((pod) => pod.metadata.labels?.['app'] === 'good').length, 1);
});
