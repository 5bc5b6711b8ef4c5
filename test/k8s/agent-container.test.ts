import test from 'ava';
import { byKind, type Manifest } from './rendered.js';

/**
 * Issue 16, point 1, read from what `kubectl apply -k k8s/` sends: the agent (OpenCode) runs in a
 * container of its own that holds none of the gateway's keys. Each rule below is one line of the
 * issue; the checker returns what breaks one, so a test can also show it catches each break.
 */
const TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

const containerNamed = (pod: Manifest, name: string): Manifest | undefined =>
  [...(pod['containers'] ?? []), ...(pod['initContainers'] ?? [])].find((container) => container['name'] === name);
const volumeNamed = (pod: Manifest, name: string): Manifest | undefined =>
  (pod['volumes'] ?? []).find((volume: Manifest) => volume['name'] === name);
const envValue = (container: Manifest, name: string): string | undefined =>
  (container['env'] ?? []).find((entry: Manifest) => entry['name'] === name)?.['value'];
const secretsOf = (container: Manifest): string[] => [
  ...(container['envFrom'] ?? []).flatMap((from: Manifest) => (from['secretRef'] ? [from['secretRef']['name']] : [])),
  ...(container['env'] ?? []).flatMap((entry: Manifest) => {
    const ref = entry['valueFrom']?.['secretKeyRef'];
    return ref ? [`${ref['name']}/${ref['key']}`] : [];
  }),
];
/** The setting a container runs with: its own, else the pod's. */
const effective = (pod: Manifest, container: Manifest, key: string): unknown =>
  container['securityContext']?.[key] ?? pod['securityContext']?.[key];
const isUnder = (path: string, folder: string): boolean => path === folder || path.startsWith(`${folder}/`);

const agentBoundaryProblems = (deployment: Manifest): string[] => {
  const problems: string[] = [];
  const pod = deployment['spec']['template']['spec'];
  const gateway = containerNamed(pod, 'gateway');
  const agent = containerNamed(pod, 'opencode');
  if (!gateway || !agent) return ['the pod has no gateway or no opencode container'];
  if (pod['automountServiceAccountToken'] !== false) problems.push('the pod mounts the service-account token');
  // The gateway alone gets a token: a projected one, at the path the Kubernetes client reads.
  for (const container of [...pod['containers'], ...(pod['initContainers'] ?? [])]) {
    const tokens = (container['volumeMounts'] ?? []).filter((mount: Manifest) =>
      volumeNamed(pod, mount['name'])?.['projected']?.['sources']?.some(
        (source: Manifest) => source['serviceAccountToken'],
      ),
    );
    if (container === gateway && !tokens.some((mount: Manifest) => mount['mountPath'] === TOKEN_PATH))
      problems.push(`the gateway container has no projected token at ${TOKEN_PATH}`);
    if (container !== gateway && tokens.length > 0)
      problems.push(`${container['name']} mounts a service-account token`);
  }
  const agentSecrets = secretsOf(agent).filter(
    (secret) => !/^(opencode-server\/password|opencode-provider)$/.test(secret),
  );
  if (agentSecrets.length > 0) problems.push(`opencode reads the gateway's secrets: ${agentSecrets.join(', ')}`);
  const init = containerNamed(pod, 'opencode-config');
  const initSecrets = init
    ? secretsOf(init).filter((secret) => secret !== 'gateway-secrets/GATEWAY_OPENCODE_CONFIG')
    : [];
  if (initSecrets.length > 0) problems.push(`opencode-config reads secrets: ${initSecrets.join(', ')}`);
  // Volumes: the data folder (the event log) is the gateway's alone; of the workspace, only the builders and OpenCode's state.
  const dataDir = envValue(gateway, 'GATEWAY_DATA_DIR') ?? '';
  const dataMount = (gateway['volumeMounts'] ?? []).find((mount: Manifest) => isUnder(dataDir, mount['mountPath']));
  if (!dataMount || dataMount['subPath']) problems.push(`GATEWAY_DATA_DIR ${dataDir} is not a volume of its own`);
  for (const mount of agent['volumeMounts'] ?? []) {
    const volume = volumeNamed(pod, mount['name']) ?? {};
    if (dataMount && mount['name'] === dataMount['name']) problems.push('opencode mounts the data volume');
    if (volume['secret'] || volume['projected']) problems.push(`opencode mounts ${mount['name']}, a secret`);
    if (volume['persistentVolumeClaim'] && !['.builders', '.opencode-sessions'].includes(mount['subPath']))
      problems.push(`opencode mounts ${mount['name']} at ${mount['mountPath']} beyond the builders and its own state`);
  }
  const workspace = envValue(gateway, 'GATEWAY_WORKSPACE') ?? '';
  const builders = (agent['volumeMounts'] ?? []).find((mount: Manifest) => mount['subPath'] === '.builders');
  if (builders?.['mountPath'] !== `${workspace}/.builders`)
    problems.push('opencode does not see the builders at the paths the gateway names them by');
  // Its own user, nothing more than it needs.
  const agentUid = effective(pod, agent, 'runAsUser');
  if (agentUid === undefined || agentUid === 0 || agentUid === effective(pod, gateway, 'runAsUser'))
    problems.push(`opencode runs as uid ${String(agentUid)}, not a non-root user of its own`);
  if (effective(pod, agent, 'runAsNonRoot') !== true) problems.push('opencode may run as root');
  if (agent['securityContext']?.['readOnlyRootFilesystem'] !== true)
    problems.push('opencode can write its root file system');
  if (agent['securityContext']?.['allowPrivilegeEscalation'] !== false) problems.push('opencode may gain privileges');
  if (JSON.stringify(agent['securityContext']?.['capabilities']?.['drop']) !== '["ALL"]')
    problems.push('opencode keeps capabilities');
  if ((effective(pod, agent, 'seccompProfile') as Manifest | undefined)?.['type'] !== 'RuntimeDefault')
    problems.push('opencode runs without the runtime seccomp profile');
  // The gateway talks to it over HTTP on the pod's loopback.
  const url = envValue(gateway, 'OPENCODE_URL') ?? '';
  const command = (agent['command'] ?? []).join(' ');
  const port = /--port (\d+)/.exec(command)?.[1];
  if (!/--hostname 127\.0\.0\.1\b/.test(command) || url !== `http://127.0.0.1:${port}`)
    problems.push(`the gateway's OPENCODE_URL ${url} is not the port opencode serves on loopback (${command})`);
  if (
    !secretsOf(gateway).includes('opencode-server/password') ||
    !secretsOf(agent).includes('opencode-server/password')
  )
    problems.push('the gateway and opencode do not share the server password');
  return problems;
};

const deployment = (): Manifest => structuredClone(byKind('Deployment')[0]!);
const podOf = (manifest: Manifest): Manifest => manifest['spec']['template']['spec'];
const agentOf = (manifest: Manifest): Manifest => containerNamed(podOf(manifest), 'opencode')!;

test("k8s/: OpenCode runs in a container of its own with none of the gateway's keys, volumes or user", (t) => {
  t.deepEqual(agentBoundaryProblems(deployment()), []);
});

test('the check catches each way back to the gateway’s keys', (t) => {
  const breaks: [string, (manifest: Manifest) => void, RegExp][] = [
    ['automount', (m) => delete podOf(m)['automountServiceAccountToken'], /mounts the service-account token/],
    [
      'secrets',
      (m) => (agentOf(m)['envFrom'] = [{ secretRef: { name: 'gateway-secrets' } }]),
      /gateway's secrets: gateway-secrets/,
    ],
    [
      'data volume',
      (m) => agentOf(m)['volumeMounts'].push({ name: 'data', mountPath: '/var/lib/gateway' }),
      /mounts the data volume/,
    ],
    [
      'clones',
      (m) => (agentOf(m)['volumeMounts'][0] = { name: 'workspace', mountPath: '/workspace' }),
      /beyond the builders/,
    ],
    [
      'token',
      (m) => agentOf(m)['volumeMounts'].push({ name: 'kube-api-access', mountPath: '/t' }),
      /opencode mounts a service-account token/,
    ],
    ['same uid', (m) => (agentOf(m)['securityContext']['runAsUser'] = 1000), /not a non-root user of its own/],
    ['writable root', (m) => delete agentOf(m)['securityContext']['readOnlyRootFilesystem'], /write its root/],
    [
      'capabilities',
      (m) => (agentOf(m)['securityContext']['capabilities'] = { drop: ['NET_RAW'] }),
      /keeps capabilities/,
    ],
    ['url', (m) => (agentOf(m)['command'][2] = 'exec opencode serve --port 4097 --hostname 0.0.0.0'), /not the port/],
  ];
  for (const [name, breakIt, expected] of breaks) {
    const manifest = deployment();
    breakIt(manifest);
    t.regex(agentBoundaryProblems(manifest).join('\n'), expected, name);
  }
});
