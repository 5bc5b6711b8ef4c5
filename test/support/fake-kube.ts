import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'yaml';
import type { LocalKubelet, RunningPod } from './local-kubelet.js';

/**
 * A fake Kubernetes API server for tests, over HTTP on 127.0.0.1: what the gateway's
 * `@kubernetes/client-node` calls need of the real API — discovery, create, get, list (with
 * label selectors), delete, server-side apply (`PATCH` with `application/apply-patch+yaml` and a
 * field manager), watch (JSON lines from a resourceVersion), `resourceVersion`, and
 * 404/409/422 as `Status` objects shaped like the real ones.
 */
export interface Resource {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const RESOURCES: readonly Resource[] = [
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { group: '', version: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', namespaced: true },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  { group: '', version: 'v1', kind: 'ResourceQuota', plural: 'resourcequotas', namespaced: true },
  { group: '', version: 'v1', kind: 'LimitRange', plural: 'limitranges', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress', plural: 'ingresses', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true },
];

/** A kind's resource: its API group and plural, as the API (and RBAC) name it. */
export const resourceOf = (kind: string): Resource => {
  const found = RESOURCES.find((resource) => resource.kind === kind);
  if (!found) throw new Error(`the fake API server serves no ${kind}`);
  return found;
};

/** The Job controller's words for a Job whose one try failed. */
const BACKOFF_LIMIT_EXCEEDED = ['BackoffLimitExceeded', 'Job has reached the specified backoff limit'] as const;

type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    creationTimestamp?: string;
    managedFields?: unknown[];
  };
  [key: string]: unknown;
};
type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject; rv: number; resource: Resource };

/** How the pods of a Deployment behave: become ready, or fail the ways a real cluster fails. */
/** `pending`: the image is still being pulled, for as long as the test likes (never ready, never hopeless). */
export type PodScenario = 'ready' | 'crashloop' | 'image-pull' | 'unschedulable' | 'pending';

export interface FakeKubeOptions {
  /** The scenario for a Deployment's pods (default: ready). */
  readonly scenarioFor?: (deployment: { namespace: string; name: string }) => PodScenario;
  /** An admission rule: a message refuses the applied object with 422 Invalid, as a webhook or validation would. */
  readonly refuse?: (object: { kind: string; name: string }) => string | undefined;
  /** How long pods take to reach their scenario's state (default 50 ms). */
  readonly podDelayMs?: number;
  /** The same per namespace, when labs differ (else `podDelayMs`). */
  readonly podDelayFor?: (namespace: string) => number | undefined;
  /** A reason refuses a DELETE with 403 Forbidden, as RBAC would (asked at each request, so a test can lift it). */
  readonly forbidDelete?: (object: { kind: string; name: string }) => string | undefined;
  /** Runs a Deployment's pods for real (scenarios aside): its containers are local processes, its logs served. */
  readonly kubelet?: LocalKubelet;
  /** Without a kubelet: the exit code every Job's container ends with (default 0). */
  readonly jobExitCode?: number;
}

/** The pod status each scenario ends in, shaped like a real kubelet's. */
const podStatus = (scenario: PodScenario): Record<string, unknown> => {
  switch (scenario) {
    case 'ready':
      return {
        phase: 'Running',
        conditions: [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
        containerStatuses: [
          { name: 'app', ready: true, restartCount: 0, state: { running: { startedAt: new Date().toISOString() } } },
        ],
      };
    case 'crashloop':
      return {
        phase: 'Running',
        conditions: [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Ready', status: 'False', reason: 'ContainersNotReady' },
        ],
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=app' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error' } },
          },
        ],
      };
    case 'image-pull':
      return {
        phase: 'Pending',
        conditions: [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Ready', status: 'False', reason: 'ContainersNotReady' },
        ],
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 0,
            state: {
              waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "no-such-image:latest"' },
            },
          },
        ],
      };
    case 'unschedulable':
      return {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient memory.',
          },
        ],
      };
    case 'pending':
      return {
        phase: 'Pending',
        conditions: [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Ready', status: 'False', reason: 'ContainersNotReady' },
        ],
        containerStatuses: [
          { name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } },
        ],
      };
    default: {
      const unexpected: never = scenario;
      return unexpected;
    }
  }
};

export interface FakeKube {
  readonly url: string;
  /** A kubeconfig (YAML) pointing at the fake, as a user would write one. */
  readonly kubeconfig: string;
  /** Every stored object of a kind, for assertions. */
  readonly objects: (kind: string, namespace?: string) => KubeObject[];
  /** Counts of requests by `METHOD kind`. */
  readonly requests: Map<string, number>;
  /** How many times each object (`Kind namespace/name`) was created: more than once means a duplicate. */
  readonly creations: Map<string, number>;
  /** TCP connections accepted so far: a client that keeps its connections alive opens few. */
  readonly connections: () => number;
  /** Holds the next request matching `match` (`METHOD Kind`, e.g. `PATCH ConfigMap`) until released; `after` applies it before holding the answer. */
  readonly hold: (
    match: string,
    mode: 'before' | 'after',
  ) => { readonly reached: Promise<void>; readonly release: () => void };
  /** With a kubelet: the local URL a Service of a namespace reaches (its selected pod's mapped port), as in-cluster DNS would. */
  readonly serviceUrl: (namespace: string, service: string) => string | undefined;
  readonly close: () => Promise<void>;
}

const status = (
  response: ServerResponse,
  code: number,
  reason: string,
  message: string,
  details: Record<string, unknown> = {},
): void => {
  response.writeHead(code, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      details,
      code,
    }),
  );
};

/** `/api/v1/namespaces/x/configmaps/y` and friends, parsed. */
const route = (path: string): { resource: Resource; namespace?: string; name?: string } | undefined => {
  const parts = path.split('/').filter(Boolean);
  let group = '';
  let rest: string[];
  if (parts[0] === 'api') {
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = RESOURCES.find((candidate) => candidate.group === group && candidate.plural === rest[0]);
  if (!resource) return undefined;
  if (resource.kind === 'Namespace' && namespace === undefined && rest.length === 2) return { resource, name: rest[1] };
  return {
    resource,
    ...(namespace === undefined ? {} : { namespace }),
    ...(rest[1] === undefined ? {} : { name: rest[1] }),
  };
};

const matchesSelector = (object: KubeObject, selector: string | null): boolean => {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return object.metadata.labels?.[key!] === value;
  });
};

/** Server-side apply, simplified: the applied fields replace what was there; the rest stays. */
const apply = (existing: KubeObject | undefined, patch: KubeObject): KubeObject => {
  if (!existing) return patch;
  const merged: KubeObject = {
    ...existing,
    ...patch,
    metadata: {
      ...existing.metadata,
      ...patch.metadata,
      labels: { ...existing.metadata.labels, ...patch.metadata.labels },
    },
  };
  return merged;
};

export const startFakeKube = async (options: FakeKubeOptions = {}): Promise<FakeKube> => {
  const store = new Map<string, { resource: Resource; object: KubeObject }>();
  const events: WatchEvent[] = [];
  const watchers = new Set<(event: WatchEvent) => void>();
  const requests = new Map<string, number>();
  const creations = new Map<string, number>();
  const holds: { match: string; mode: 'before' | 'after'; reached: () => void; released: Promise<void> }[] = [];
  let resourceVersion = 1;
  let uid = 0;
  const keyOf = (resource: Resource, namespace: string | undefined, name: string) =>
    `${resource.group}/${resource.plural}/${namespace ?? ''}/${name}`;
  const record = (type: WatchEvent['type'], resource: Resource, object: KubeObject) => {
    const event = { type, object, rv: resourceVersion, resource };
    events.push(event);
    for (const watcher of watchers) watcher(event);
  };
  const save = (resource: Resource, object: KubeObject, type: 'ADDED' | 'MODIFIED'): KubeObject => {
    resourceVersion++;
    const stored = {
      ...object,
      metadata: {
        ...object.metadata,
        resourceVersion: String(resourceVersion),
        uid: object.metadata.uid ?? `uid-${++uid}`,
        creationTimestamp: object.metadata.creationTimestamp ?? new Date().toISOString(),
      },
    };
    store.set(keyOf(resource, stored.metadata.namespace, stored.metadata.name), { resource, object: stored });
    if (type === 'ADDED') {
      const id = `${resource.kind} ${stored.metadata.namespace ?? ''}/${stored.metadata.name}`;
      creations.set(id, (creations.get(id) ?? 0) + 1);
    }
    record(type, resource, stored);
    return stored;
  };
  const timers = new Set<NodeJS.Timeout>();
  /** The pods the kubelet runs, by store key. */
  const running = new Map<string, RunningPod>();
  /**
   * Where a Service of a namespace reaches on this machine: the local port its selected, running
   * pod's target port is mapped to (one network here, so no cluster IP), as in-cluster DNS would.
   */
  const serviceTarget = (namespace: string, name: string): string | undefined => {
    const services = resourceOf('Service');
    const service = store.get(keyOf(services, namespace, name))?.object as
      { spec?: { selector?: Record<string, string>; ports?: { targetPort?: number }[] } } | undefined;
    if (!service) return undefined;
    const selector = service.spec?.selector ?? {};
    const targetPort = service.spec?.ports?.[0]?.targetPort;
    for (const [key, pod] of running) {
      const object = store.get(key)?.object;
      const labels = object?.metadata.labels ?? {};
      const port = targetPort === undefined ? undefined : pod.portOf(targetPort);
      if (
        object?.metadata.namespace === namespace &&
        port !== undefined &&
        Object.entries(selector).every(([label, value]) => labels[label] === value)
      )
        return `http://127.0.0.1:${port}`;
    }
    return undefined;
  };
  /**
   * The variables a pod gets for each Service of its namespace (`enableServiceLinks`, on by
   * default): `<NAME>_SERVICE_HOST` and `<NAME>_SERVICE_PORT`, here the local address it reaches.
   */
  const serviceLinks = (namespace: string): Record<string, string> => {
    const links: Record<string, string> = {};
    for (const { resource, object } of store.values()) {
      if (resource.kind !== 'Service' || object.metadata.namespace !== namespace) continue;
      const target = serviceTarget(namespace, object.metadata.name);
      if (!target) continue;
      const { hostname, port } = new URL(target);
      const prefix = object.metadata.name.toUpperCase().replaceAll('-', '_');
      links[`${prefix}_SERVICE_HOST`] = hostname;
      links[`${prefix}_SERVICE_PORT`] = port;
    }
    return links;
  };
  /** Hands a stored pod to the kubelet: its ConfigMaps read from the store, each status it reports saved (and told to `then`). */
  const runOnKubelet = (
    kubelet: LocalKubelet,
    pod: KubeObject,
    then: (status: Record<string, unknown>) => void = () => undefined,
  ): void => {
    const pods = resourceOf('Pod');
    const configMaps = resourceOf('ConfigMap');
    const key = keyOf(pods, pod.metadata.namespace, pod.metadata.name);
    running.set(
      key,
      kubelet.run(pod, {
        configMap: (namespace, name) => store.get(keyOf(configMaps, namespace, name))?.object,
        serviceLinks,
        onStatus: (status) => {
          const current = store.get(key);
          if (current) save(pods, { ...current.object, status }, 'MODIFIED');
          then(status);
        },
      }),
    );
  };
  /** A Deployment's pod: Pending at once, then its scenario's state after a delay. */
  const startPods = (deployment: KubeObject): void => {
    const namespace = deployment.metadata.namespace!;
    const podResource = resourceOf('Pod');
    const labels = (deployment['spec'] as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)
      ?.template?.metadata?.labels ?? { app: deployment.metadata.name };
    const name = `${deployment.metadata.name}-${resourceVersion.toString(36)}`;
    for (const old of [...store.values()]) {
      if (
        old.resource === podResource &&
        old.object.metadata.namespace === namespace &&
        old.object.metadata.name.startsWith(`${deployment.metadata.name}-`)
      )
        remove(podResource, namespace, old.object.metadata.name);
    }
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels },
      spec: {},
      status: { phase: 'Pending', conditions: [] },
    };
    if (options.kubelet) {
      const template = (deployment['spec'] as { template?: { spec?: unknown } } | undefined)?.template;
      runOnKubelet(options.kubelet, save(podResource, { ...pod, spec: template?.spec ?? {} }, 'ADDED'));
      return;
    }
    save(podResource, pod, 'ADDED');
    const scenario = options.scenarioFor?.({ namespace, name: deployment.metadata.name }) ?? 'ready';
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        const current = store.get(keyOf(podResource, namespace, name));
        if (current) save(podResource, { ...current.object, status: podStatus(scenario) }, 'MODIFIED');
      },
      options.podDelayFor?.(namespace) ?? options.podDelayMs ?? 50,
    );
    timers.add(timer);
  };
  /** How a Job ended, as the Job controller records it: its count and its Complete or Failed condition. */
  const recordJobEnd = (job: KubeObject, outcome: 'Complete' | 'Failed', reason?: string, message?: string): void => {
    const jobs = resourceOf('Job');
    const current = store.get(keyOf(jobs, job.metadata.namespace, job.metadata.name));
    if (!current) return;
    const condition = { type: outcome, status: 'True', ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
    save(
      jobs,
      {
        ...current.object,
        status: { ...(outcome === 'Complete' ? { succeeded: 1 } : { failed: 1 }), conditions: [condition] },
      },
      'MODIFIED',
    );
  };
  /** A Job's pod, named and labelled as the Job controller names and labels it. */
  const jobPod = (job: KubeObject, spec: Record<string, unknown>, status: Record<string, unknown>): KubeObject =>
    save(
      resourceOf('Pod'),
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${job.metadata.name}-${resourceVersion.toString(36)}`,
          namespace: job.metadata.namespace!,
          labels: { 'job-name': job.metadata.name, 'batch.kubernetes.io/job-name': job.metadata.name },
        },
        spec,
        status,
      },
      'ADDED',
    );
  /**
   * Without a kubelet, a Job's pod ends as `jobExitCode` says (default 0) after the pod delay, as a
   * cluster whose nodes ran it would show it: the pod Succeeded or Failed with its container's exit
   * code, the Job Complete or Failed. No log: nothing really ran.
   */
  const finishJobByScenario = (job: KubeObject): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!store.has(keyOf(resourceOf('Job'), job.metadata.namespace, job.metadata.name))) return;
      const exitCode = options.jobExitCode ?? 0;
      const container = ((job['spec'] as { template?: { spec?: { containers?: { name: string }[] } } }).template?.spec
        ?.containers ?? [])[0]?.name;
      const terminated = { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' };
      jobPod(
        job,
        {},
        {
          phase: exitCode === 0 ? 'Succeeded' : 'Failed',
          containerStatuses: [{ name: container, ready: false, restartCount: 0, state: { terminated } }],
        },
      );
      if (exitCode === 0) recordJobEnd(job, 'Complete');
      else recordJobEnd(job, 'Failed', ...BACKOFF_LIMIT_EXCEEDED);
    }, options.podDelayMs ?? 50);
    timers.add(timer);
  };
  /**
   * With a kubelet, a Job runs its pod once (restartPolicy Never) and records how it ended, as the
   * Job controller does: `succeeded` or `failed` with a Complete or Failed condition, and Failed
   * with DeadlineExceeded once `activeDeadlineSeconds` has passed.
   */
  const startJob = (job: KubeObject): void => {
    const kubelet = options.kubelet;
    if (!kubelet) return finishJobByScenario(job);
    const spec = job['spec'] as { activeDeadlineSeconds?: number; template?: { spec?: Record<string, unknown> } };
    let ended = false;
    const end = (outcome: 'Complete' | 'Failed', reason?: string, message?: string) => {
      if (ended) return;
      ended = true;
      clearTimeout(deadline);
      recordJobEnd(job, outcome, reason, message);
    };
    const saved = jobPod(job, { ...spec.template?.spec, restartPolicy: 'Never' }, { phase: 'Pending' });
    const podKey = keyOf(resourceOf('Pod'), saved.metadata.namespace, saved.metadata.name);
    const deadline = setTimeout(
      () => {
        void running.get(podKey)?.stop();
        end('Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline');
      },
      (spec.activeDeadlineSeconds ?? 3600) * 1000,
    );
    timers.add(deadline);
    runOnKubelet(kubelet, saved, (status) => {
      if (status['phase'] === 'Succeeded') end('Complete');
      if (status['phase'] === 'Failed') end('Failed', ...BACKOFF_LIMIT_EXCEEDED);
    });
  };
  const remove = (resource: Resource, namespace: string | undefined, name: string): KubeObject | undefined => {
    const key = keyOf(resource, namespace, name);
    const entry = store.get(key);
    if (!entry) return undefined;
    store.delete(key);
    resourceVersion++;
    record('DELETED', resource, entry.object);
    void running.get(key)?.stop();
    running.delete(key);
    // A namespace takes everything in it along.
    if (resource.kind === 'Namespace') {
      for (const value of [...store.values()])
        if (value.object.metadata.namespace === name) remove(value.resource, name, value.object.metadata.name);
    }
    return entry.object;
  };

  const discovery = (path: string): unknown => {
    if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    if (path === '/apis') {
      const groups = [
        ...new Set(RESOURCES.filter((resource) => resource.group !== '').map((resource) => resource.group)),
      ];
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: groups.map((name) => ({
          name,
          versions: [{ groupVersion: `${name}/v1`, version: 'v1' }],
          preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' },
        })),
      };
    }
    const match = /^\/(?:api\/(v1)|apis\/([^/]+)\/(v1))$/.exec(path);
    if (!match) return undefined;
    const group = match[2] ?? '';
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/v1` : 'v1',
      resources: RESOURCES.filter((resource) => resource.group === group).map((resource) => ({
        name: resource.plural,
        singularName: resource.kind.toLowerCase(),
        namespaced: resource.namespaced,
        kind: resource.kind,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      })),
    };
  };

  /**
   * The API server's proxy to a Service (`/api/v1/namespaces/<ns>/services/<name>[:<port>]/proxy/<path>`,
   * what `kubectl proxy` exposes): the request goes on to the pod the Service selects.
   */
  const proxyToService = (
    request: IncomingMessage,
    response: ServerResponse,
    body: string,
    namespace: string,
    service: string,
    path: string,
  ): void => {
    const target = serviceTarget(namespace, service);
    if (!target) return status(response, 503, 'ServiceUnavailable', `no endpoints available for service "${service}"`);
    const { host: _host, authorization: _authorization, ...headers } = request.headers;
    const onward = httpRequest(`${target}${path}`, { method: request.method, headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    onward.on('error', (error) => status(response, 502, 'BadGateway', error.message));
    onward.end(body);
  };
  const handle = (request: IncomingMessage, response: ServerResponse, body: string): void => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const found = discovery(url.pathname);
    if (request.method === 'GET' && found) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(found));
      return;
    }
    const proxied = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/:]+)(?::[^/]+)?\/proxy(\/.*)?$/.exec(url.pathname);
    if (proxied)
      return proxyToService(request, response, body, proxied[1]!, proxied[2]!, `${proxied[3] ?? '/'}${url.search}`);
    const log = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
    if (request.method === 'GET' && log) {
      requests.set('GET pods/log', (requests.get('GET pods/log') ?? 0) + 1);
      const text = options.kubelet?.logs(log[1]!, log[2]!, url.searchParams.get('container') ?? undefined);
      if (text === undefined) return status(response, 404, 'NotFound', `pods "${log[2]}" not found`);
      response.writeHead(200, { 'content-type': 'text/plain' }).end(text);
      return;
    }
    const target = route(url.pathname);
    if (!target)
      return status(response, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const { resource, namespace, name } = target;
    requests.set(`${request.method} ${resource.kind}`, (requests.get(`${request.method} ${resource.kind}`) ?? 0) + 1);
    const notFound = () =>
      status(
        response,
        404,
        'NotFound',
        `${resource.plural}${resource.group ? `.${resource.group}` : ''} "${name}" not found`,
        { name, kind: resource.plural },
      );
    if (
      namespace !== undefined &&
      resource.kind !== 'Namespace' &&
      !store.has(keyOf(RESOURCES[0]!, undefined, namespace)) &&
      request.method !== 'GET'
    ) {
      return status(response, 404, 'NotFound', `namespaces "${namespace}" not found`, {
        name: namespace,
        kind: 'namespaces',
      });
    }
    const send = (code: number, object: unknown): void => {
      response.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(object));
    };
    switch (request.method) {
      case 'GET': {
        if (name) {
          const entry = store.get(keyOf(resource, namespace, name));
          return entry ? send(200, entry.object) : notFound();
        }
        const selector = url.searchParams.get('labelSelector');
        const inScope = (object: KubeObject) =>
          (namespace === undefined || object.metadata.namespace === namespace) && matchesSelector(object, selector);
        if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
          const from = Number(url.searchParams.get('resourceVersion') ?? '0');
          response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
          const write = (event: WatchEvent) => {
            if (event.resource === resource && event.rv > from && inScope(event.object))
              response.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
          };
          for (const event of events) write(event);
          watchers.add(write);
          response.on('close', () => watchers.delete(write));
          return;
        }
        const items = [...store.values()]
          .filter((entry) => entry.resource === resource && inScope(entry.object))
          .map((entry) => entry.object);
        return send(200, {
          kind: `${resource.kind}List`,
          apiVersion: resource.group ? `${resource.group}/v1` : 'v1',
          metadata: { resourceVersion: String(resourceVersion) },
          items,
        });
      }
      case 'POST': {
        const object = JSON.parse(body) as KubeObject;
        if (!object.metadata?.name)
          return status(response, 422, 'Invalid', `${resource.kind} is invalid: metadata.name: Required value`, {
            kind: resource.kind,
          });
        const objectNamespace = resource.namespaced ? namespace : undefined;
        if (store.has(keyOf(resource, objectNamespace, object.metadata.name))) {
          return status(response, 409, 'AlreadyExists', `${resource.plural} "${object.metadata.name}" already exists`, {
            name: object.metadata.name,
            kind: resource.plural,
          });
        }
        const created = save(
          resource,
          { ...object, metadata: { ...object.metadata, ...(objectNamespace ? { namespace: objectNamespace } : {}) } },
          'ADDED',
        );
        if (resource.kind === 'Job') startJob(created);
        return send(201, created);
      }
      case 'PATCH': {
        if (!name)
          return status(
            response,
            405,
            'MethodNotAllowed',
            'the server does not allow this method on the requested resource',
          );
        if (request.headers['content-type'] !== 'application/apply-patch+yaml')
          return status(
            response,
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml`,
          );
        if (!url.searchParams.get('fieldManager'))
          return status(
            response,
            422,
            'Invalid',
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
          );
        const patch = parse(body) as KubeObject;
        if (patch.metadata?.name !== name)
          return status(response, 400, 'BadRequest', 'the name of the object does not match the name on the URL');
        const refusal = options.refuse?.({ kind: resource.kind, name });
        if (refusal)
          return status(response, 422, 'Invalid', `${resource.kind} "${name}" is invalid: ${refusal}`, {
            name,
            kind: resource.plural,
          });
        const key = keyOf(resource, resource.namespaced ? namespace : undefined, name);
        const existing = store.get(key)?.object;
        const applied = apply(existing, {
          ...patch,
          metadata: { ...patch.metadata, ...(resource.namespaced && namespace ? { namespace } : {}) },
        });
        if (
          existing &&
          JSON.stringify({ ...existing, metadata: { ...existing.metadata, resourceVersion: undefined } }) ===
            JSON.stringify({ ...applied, metadata: { ...applied.metadata, resourceVersion: undefined } })
        ) {
          return send(200, existing); // no change: no new resourceVersion, as the real server does
        }
        const saved = save(resource, applied, existing ? 'MODIFIED' : 'ADDED');
        if (resource.kind === 'Deployment') startPods(saved);
        if (resource.kind === 'Job' && !existing) startJob(saved);
        return send(existing ? 200 : 201, saved);
      }
      case 'DELETE': {
        if (!name)
          return status(
            response,
            405,
            'MethodNotAllowed',
            'the server does not allow this method on the requested resource',
          );
        const forbidden = options.forbidDelete?.({ kind: resource.kind, name });
        if (forbidden)
          return status(response, 403, 'Forbidden', `${resource.plural} "${name}" is forbidden: ${forbidden}`, {
            name,
            kind: resource.plural,
          });
        const removed = remove(resource, resource.namespaced ? namespace : undefined, name);
        // A Job deleted through the API orphans its pods unless asked otherwise (kubectl asks; a
        // client must say Background or Foreground), in the query or in the DeleteOptions body.
        const propagation =
          url.searchParams.get('propagationPolicy') ??
          (body ? (JSON.parse(body) as { propagationPolicy?: string }).propagationPolicy : undefined);
        if (removed && resource.kind === 'Job' && (propagation === 'Background' || propagation === 'Foreground'))
          for (const pod of [...store.values()])
            if (
              pod.resource.kind === 'Pod' &&
              pod.object.metadata.namespace === namespace &&
              pod.object.metadata.labels?.['job-name'] === name
            )
              remove(pod.resource, namespace, pod.object.metadata.name);
        return removed
          ? send(200, {
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Success',
              details: { name, kind: resource.plural },
            })
          : notFound();
      }
      default:
        return status(
          response,
          405,
          'MethodNotAllowed',
          'the server does not allow this method on the requested resource',
        );
    }
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const target = route(new URL(request.url ?? '/', 'http://fake').pathname);
      const index = target ? holds.findIndex((held) => held.match === `${request.method} ${target.resource.kind}`) : -1;
      if (index < 0) return handle(request, response, body);
      const [held] = holds.splice(index, 1);
      held!.reached();
      if (held!.mode === 'before') {
        void held!.released.then(() => !response.destroyed && handle(request, response, body));
        return;
      }
      // Applied now, answered only when released: the client never learns that it worked.
      const buffered: { code: number; headers: unknown; body: string } = { code: 0, headers: {}, body: '' };
      const captured = Object.assign(Object.create(response) as ServerResponse, {
        writeHead: (code: number, headers: unknown) => {
          buffered.code = code;
          buffered.headers = headers;
          return captured;
        },
        end: (text: string) => {
          buffered.body = text;
          return captured;
        },
      });
      handle(request, captured, body);
      void held!.released.then(() => {
        if (!response.destroyed)
          response.writeHead(buffered.code, buffered.headers as Record<string, string>).end(buffered.body);
      });
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    kubeconfig: [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: fake, cluster: { server: "' + url + '", insecure-skip-tls-verify: true } }]',
      'users: [{ name: gateway, user: { token: fake-token } }]',
      'contexts: [{ name: fake, context: { cluster: fake, user: gateway } }]',
      'current-context: fake',
    ].join('\n'),
    objects: (kind, namespace) =>
      [...store.values()]
        .filter(
          (entry) =>
            entry.resource.kind === kind && (namespace === undefined || entry.object.metadata.namespace === namespace),
        )
        .map((entry) => entry.object),
    requests,
    creations,
    connections: () => connections,
    hold: (match, mode) => {
      let reached!: () => void;
      let release!: () => void;
      const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      holds.push({ match, mode, reached, released });
      return { reached: reachedPromise, release };
    },
    serviceUrl: (namespace, name) => serviceTarget(namespace, name),
    close: async () => {
      await Promise.all([...running.values()].map((pod) => pod.stop()));
      running.clear();
      await new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
};
