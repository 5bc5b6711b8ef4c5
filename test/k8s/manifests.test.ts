import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validateManifest } from './kubernetes-schema.js';
import { byKind, exampleSecrets, K8S, rendered } from './rendered.js';

const manifestFiles = readdirSync(K8S).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml');

test('every object kustomize renders, and every example Secret, is a valid object of its kind, labelled as the gateway', (t) => {
  t.deepEqual(rendered.map((manifest) => manifest['kind']).sort(), [
    'ClusterRole',
    'ClusterRoleBinding',
    'ConfigMap',
    'Deployment',
    'PersistentVolumeClaim',
    'PersistentVolumeClaim',
    'Service',
    'ServiceAccount',
  ]);
  for (const manifest of [...rendered, ...exampleSecrets])
    t.deepEqual(validateManifest(manifest), [], `${manifest['kind']} ${manifest['metadata']['name']}`);
  for (const manifest of rendered)
    t.is(manifest['metadata']['labels']?.['app.kubernetes.io/name'], 'ai-dev-gateway', manifest['kind']);
});

test('the validator catches a typo at any depth, a wrong type, a wrong kind and a wrong apiVersion', (t) => {
  const deployment = structuredClone(byKind('Deployment')[0]!);
  deployment['spec']['template']['spec']['containers'][0]['livenesProbe'] =
    deployment['spec']['template']['spec']['containers'][0]['livenessProbe'];
  t.deepEqual(validateManifest(deployment), [
    'Deployment.spec.template.spec.containers[0].livenesProbe: unknown field of V1Container',
  ]);
  const wrongType = structuredClone(byKind('Deployment')[0]!);
  wrongType['spec']['replicas'] = 'one';
  t.deepEqual(validateManifest(wrongType), ['Deployment.spec.replicas: expected a number, got string']);
  t.deepEqual(validateManifest({ ...byKind('Service')[0], kind: 'Servce' }), ['unknown kind Servce']);
  t.regex(validateManifest({ ...byKind('Deployment')[0], apiVersion: 'v1' })[0]!, /needs apiVersion apps\/v1/);
});

test('kustomization lists every manifest but the example secret, and generates the config from the shipped file', (t) => {
  const kustomization = parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as {
    resources: string[];
    namespace: string;
    configMapGenerator: { name: string; files: string[] }[];
  };
  t.deepEqual(
    [...kustomization.resources].sort(),
    manifestFiles.filter((file) => file !== 'secret.example.yaml').sort(),
  );
  t.is(kustomization.namespace, 'default');
  t.deepEqual(kustomization.configMapGenerator, [
    { name: 'gateway-config', files: ['backend.yaml=config/backend.yaml'] },
  ]);
  t.is(
    readFileSync(join(K8S, 'config', 'backend.yaml'), 'utf8'),
    readFileSync(join(process.cwd(), 'config', 'backend.yaml'), 'utf8'),
    'k8s/config/backend.yaml is a copy of config/backend.yaml',
  );
});

test('RBAC: gateway-sa in default, bound to gateway-role with exactly the verbs the gateway needs', (t) => {
  const [account] = byKind('ServiceAccount');
  t.like(account, { metadata: { name: 'gateway-sa', namespace: 'default' } });
  const [role] = byKind('ClusterRole');
  t.is(role!['metadata']['name'], 'gateway-role');
  const verbs = new Map<string, string[]>();
  for (const rule of role!['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
    for (const group of rule.apiGroups)
      for (const resource of rule.resources)
        verbs.set(`${group === '' ? 'core' : group}/${resource}`, [...rule.verbs].sort());
  }
  const workload = ['create', 'delete', 'get', 'list', 'patch', 'watch'];
  const managed = ['create', 'delete', 'get', 'list', 'patch'];
  t.deepEqual(Object.fromEntries([...verbs].sort()), {
    'apps/deployments': workload,
    // The tests' Jobs: applied, read until they end, deleted.
    'batch/jobs': ['create', 'delete', 'get', 'patch'],
    'coordination.k8s.io/leases': ['create', 'get', 'list', 'patch', 'update', 'watch'],
    'core/configmaps': workload,
    'core/limitranges': managed,
    'core/namespaces': workload,
    'core/endpoints': ['get', 'list', 'watch'],
    'core/persistentvolumeclaims': workload,
    'core/pods': workload,
    // What a lab's Role grants, the gateway must hold (RBAC refuses an escalation).
    'core/pods/log': ['get', 'list', 'watch'],
    'core/resourcequotas': managed,
    'core/serviceaccounts': managed,
    'core/services': workload,
    'networking.k8s.io/ingresses': managed,
    'rbac.authorization.k8s.io/rolebindings': managed,
    'rbac.authorization.k8s.io/roles': managed,
  });
  const [binding] = byKind('ClusterRoleBinding');
  t.like(binding, {
    metadata: { name: 'gateway-binding' },
    roleRef: { kind: 'ClusterRole', name: 'gateway-role', apiGroup: 'rbac.authorization.k8s.io' },
  });
  t.deepEqual(binding!['subjects'], [{ kind: 'ServiceAccount', name: 'gateway-sa', namespace: 'default' }]);
});

test('the Deployment probes /health and /ready on 8000, runs as gateway-sa, non-root, with a read-only root', (t) => {
  const [deployment] = byKind('Deployment');
  const pod = deployment!['spec']['template']['spec'];
  const [container] = pod['containers'];
  t.is(pod['serviceAccountName'], 'gateway-sa');
  t.like(container['livenessProbe'], { httpGet: { path: '/health', port: 8000 } });
  t.like(container['readinessProbe'], { httpGet: { path: '/ready', port: 8000 } });
  t.true(pod['securityContext']['runAsNonRoot']);
  t.like(container['securityContext'], { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  t.deepEqual(container['envFrom'], [{ secretRef: { name: 'gateway-secrets' } }]);
  const [service] = byKind('Service');
  t.deepEqual(service!['spec']['selector'], deployment!['spec']['selector']['matchLabels']);
  t.is(service!['spec']['ports'][0]['targetPort'], 8000);
});

test('docker compose runs the gateway against EventStoreDB; the image runs non-root with a health check', (t) => {
  const compose = parse(readFileSync(join(process.cwd(), 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, any>;
  };
  const gateway = compose.services['gateway'];
  t.regex(gateway['environment']['EVENTSTORE_CONNECTION_STRING'], /^esdb:\/\/eventstore:2113/);
  t.deepEqual(gateway['ports'], ['8000:8000']);
  t.is(gateway['depends_on']['eventstore']['condition'], 'service_healthy');
  t.regex(compose.services['eventstore']['image'], /^eventstore\/eventstore:/);
  const dockerfile = readFileSync(join(process.cwd(), 'Dockerfile'), 'utf8');
  t.regex(dockerfile, /^USER node$/m);
  t.regex(dockerfile, /HEALTHCHECK[\s\S]*\/health/);
  t.regex(dockerfile, /opencode-ai@1\.18\.33/);
});
