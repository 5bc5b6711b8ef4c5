import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiException, KubeConfig, Watch, type CoreV1Api } from '@kubernetes/client-node';
import { kubeClients } from './kube-clients.js';
import { applyObjects, explain } from './kube-calls.js';
import { runJobToEnd, type JobRun, type RunJobOptions } from './run-job.js';
import { MANAGED_BY_LABEL, MANAGER, type KubeObject } from './manifests.js';
import { judgePod, type PodStatus } from './pod-state.js';

/** What a lab's pods say as a whole: all ready, one failed for good, or still coming up (and why). */
export type PodsVerdict =
  | { readonly kind: 'ready'; readonly pods: number }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'waiting'; readonly detail: string };

/** A watch under way; `stop` ends it. */
export interface PodsWatch {
  stop(): void;
}

/** What the deployment steps need of a Kubernetes cluster. */
export interface LabCluster {
  /** Server-side apply of each object, in order. */
  apply(objects: readonly KubeObject[]): Promise<void>;
  /**
   * Watches the pods matching `selector` and tells their verdict each time it changes, until
   * stopped: no promise to await, so waiting for pods holds nothing but the watch itself.
   */
  watchPods(namespace: string, selector: string, onVerdict: (verdict: PodsVerdict) => void): PodsWatch;
  /** The storage a PVC holds now, in whole GiB; undefined when there is none (or it is not in GiB). */
  pvcSizeGi(namespace: string, name: string): Promise<number | undefined>;
  /** Deletes a namespace the gateway manages; 'absent' when it is gone already, 'foreign' when it is not the gateway's. */
  deleteNamespace(name: string): Promise<'deleted' | 'absent' | 'foreign'>;
  /**
   * Runs a Job to its end and deletes it with its pods: how it ended, its container's log and exit
   * code. Applying a Job that exists already waits for that one.
   */
  runJob(job: KubeObject, options: RunJobOptions): Promise<JobRun>;
  /** A cheap call proving the API server answers; throws why not. */
  health(): Promise<void>;
}

/**
 * Whether a cluster is configured at all: KUBECONFIG, in-cluster, or ~/.kube/config. Without one,
 * deployments fail at their first step saying why, and GET /ready does not check a cluster.
 */
export const clusterConfigured = (kubeconfigPath: string | undefined, env: NodeJS.ProcessEnv): boolean =>
  kubeconfigPath !== undefined ||
  env['KUBERNETES_SERVICE_HOST'] !== undefined ||
  existsSync(join(homedir(), '.kube', 'config'));

/** The cluster from a kubeconfig file (KUBECONFIG), else the standard resolution: in-cluster, then ~/.kube/config. */
export const loadKubeConfig = (kubeconfigPath: string | undefined): KubeConfig => {
  const config = new KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  return config;
};

/** What a lab's pods say as a whole, judged from each pod's status as last seen. */
const podsVerdictOf = (pods: ReadonlyMap<string, PodStatus | undefined>): PodsVerdict => {
  const verdicts = [...pods].map(([name, status]) => judgePod(name, status));
  const failed = verdicts.find((verdict) => verdict.kind === 'failed');
  return failed?.kind === 'failed'
    ? { kind: 'failed', reason: failed.reason }
    : verdicts.length > 0 && verdicts.every((one) => one.kind === 'ready')
      ? { kind: 'ready', pods: verdicts.length }
      : {
          kind: 'waiting',
          detail:
            verdicts.flatMap((one) => (one.kind === 'waiting' ? [one.detail] : [])).join('; ') ||
            'waiting for the pod to be created',
        };
};

/** `LabCluster.watchPods`: lists the pods, then watches them, telling each new verdict until stopped. */
const watchPodsVerdict = (
  config: KubeConfig,
  core: CoreV1Api,
  namespace: string,
  selector: string,
  onVerdict: (verdict: PodsVerdict) => void,
): PodsWatch => {
  const pods = new Map<string, PodStatus | undefined>();
  let stopped = false;
  let last = '';
  let controller: AbortController | undefined;
  const judge = () => {
    const verdict = podsVerdictOf(pods);
    const said = JSON.stringify(verdict);
    if (said === last || stopped) return;
    last = said;
    onVerdict(verdict);
  };
  // A list, then a watch from its resourceVersion: no change is missed between the two.
  const watchFrom = (resourceVersion: string | undefined) => {
    if (stopped) return;
    void new Watch(config)
      .watch(
        `/api/v1/namespaces/${namespace}/pods`,
        { labelSelector: selector, ...(resourceVersion ? { resourceVersion } : {}), allowWatchBookmarks: true },
        (type: string, object: { metadata?: { name?: string; resourceVersion?: string }; status?: PodStatus }) => {
          const name = object.metadata?.name;
          if (object.metadata?.resourceVersion) resourceVersion = object.metadata.resourceVersion;
          if (!name || type === 'BOOKMARK') return;
          if (type === 'DELETED') pods.delete(name);
          else pods.set(name, object.status);
          judge();
        },
        () => setTimeout(() => watchFrom(resourceVersion), 200).unref(), // the server ends watches now and then: resume
      )
      .then(
        (started) => {
          controller = started;
          if (stopped) started.abort();
        },
        () => setTimeout(() => watchFrom(resourceVersion), 1000).unref(),
      );
  };
  const list = () =>
    core.listNamespacedPod({ namespace, labelSelector: selector }).then(
      (listed) => {
        for (const pod of listed.items) if (pod.metadata?.name) pods.set(pod.metadata.name, pod.status);
        judge();
        watchFrom(listed.metadata?.resourceVersion);
      },
      () => {
        if (!stopped) setTimeout(() => void list(), 1000).unref();
      },
    );
  void list();
  return {
    stop: () => {
      stopped = true;
      controller?.abort();
    },
  };
};

/** `LabCluster.pvcSizeGi`: the storage a PVC holds now, in whole GiB; undefined when there is none (or it is not in GiB). */
const readPvcSizeGi = async (core: CoreV1Api, namespace: string, name: string): Promise<number | undefined> => {
  try {
    const claim = await core.readNamespacedPersistentVolumeClaim({ namespace, name });
    const match = /^(\d+)Gi$/.exec(String(claim.spec?.resources?.requests?.['storage'] ?? ''));
    return match ? Number(match[1]) : undefined;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw explain(error);
  }
};

/** `LabCluster.deleteNamespace`: deletes the namespace only if the gateway manages it. */
const deleteManagedNamespace = async (core: CoreV1Api, name: string): Promise<'deleted' | 'absent' | 'foreign'> => {
  let namespace;
  try {
    namespace = await core.readNamespace({ name });
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return 'absent';
    throw explain(error);
  }
  if (namespace.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGER) return 'foreign';
  try {
    await core.deleteNamespace({ name });
    return 'deleted';
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return 'absent';
    throw explain(error);
  }
};

/** The production adapter: `@kubernetes/client-node` calls, the same against a real cluster and the test's fake API server. */
export const kubernetesCluster = (config: KubeConfig): LabCluster => {
  const clients = kubeClients(config);
  const { applier: objects, core } = clients;
  return {
    apply: (list) => applyObjects(objects, list),
    watchPods: (namespace, selector, onVerdict) => watchPodsVerdict(config, core, namespace, selector, onVerdict),
    pvcSizeGi: (namespace, name) => readPvcSizeGi(core, namespace, name),
    deleteNamespace: (name) => deleteManagedNamespace(core, name),
    runJob: (job, options) => runJobToEnd(clients, job, options),
    async health() {
      try {
        await core.getAPIResources();
      } catch (error) {
        throw explain(error);
      }
    },
  };
};
