import {
  ApiException,
  type BatchV1Api,
  type CoreV1Api,
  type KubernetesObjectApi,
  type V1Pod,
} from '@kubernetes/client-node';
import { sleep } from '../shared/sleep.js';
import { applyObjects, explain } from './kube-calls.js';
import type { KubeObject } from './manifests.js';

/** How a Job ended, with what its pod left behind. */
export interface JobRun {
  /** As the Job's conditions say; `gave-up` when it did not end within the time the gateway waits. */
  readonly ended: 'complete' | 'failed' | 'gave-up';
  /** The condition's reason and message (`DeadlineExceeded: …`), or why the gateway stopped waiting. */
  readonly reason: string;
  /** The container's log as the API server serves it; empty when there is none. */
  readonly log: string;
  /** The container's exit code, when the pod's status has it. */
  readonly exitCode?: number;
  /** What stopped the pod before its container ran: a failed init container, its last words. */
  readonly podProblem?: string;
}

export interface RunJobOptions {
  /** The container whose log and exit code are the result. */
  readonly container: string;
  readonly giveUpAfterMs: number;
  /** Aborted when the gateway stops: the Job is left to run, and applying it again picks it up. */
  readonly signal: AbortSignal;
}

type EndedCondition = { type?: string; status?: string; reason?: string; message?: string };

const endOf = (conditions: readonly EndedCondition[] | undefined): EndedCondition | undefined =>
  conditions?.find(
    (condition) => (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True',
  );

/** The Job's pod: the newest, should the controller have made more than one. */
const podOf = async (core: CoreV1Api, namespace: string, job: string): Promise<V1Pod | undefined> => {
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `job-name=${job}` });
  return [...pods.items].sort(
    (a, b) => (b.metadata?.creationTimestamp?.getTime?.() ?? 0) - (a.metadata?.creationTimestamp?.getTime?.() ?? 0),
  )[0];
};

/** A failed init container, said with the end of its log (the code could not be gathered). */
const initProblem = async (core: CoreV1Api, namespace: string, pod: V1Pod): Promise<string | undefined> => {
  const failed = pod.status?.initContainerStatuses?.find(
    (status) => status.state?.terminated !== undefined && status.state.terminated.exitCode !== 0,
  );
  if (!failed) return undefined;
  const log = await core
    .readNamespacedPodLog({ name: pod.metadata!.name!, namespace, container: failed.name })
    .catch(() => '');
  const lastWords = log.trim().split('\n').slice(-3).join(' / ');
  return `init container ${failed.name} exited with code ${failed.state!.terminated!.exitCode}${lastWords ? `: ${lastWords}` : ''}`;
};

const deleteJob = async (batch: BatchV1Api, namespace: string, name: string): Promise<void> => {
  try {
    // Background: the pods go too; a Job deleted through the API would otherwise orphan them.
    await batch.deleteNamespacedJob({
      name,
      namespace,
      propagationPolicy: 'Background',
      body: { propagationPolicy: 'Background' },
    });
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 404)) throw explain(error);
  }
};

/**
 * `LabCluster.runJob`: applies the Job (the same one again when it exists: a gateway restarted
 * mid-run waits for the Job it had started), waits for its Complete or Failed condition, reads
 * its pod's log and exit code, and deletes it with its pods.
 */
export const runJobToEnd = async (
  clients: { applier: KubernetesObjectApi; core: CoreV1Api; batch: BatchV1Api },
  job: KubeObject,
  options: RunJobOptions,
): Promise<JobRun> => {
  const { name } = job.metadata;
  const namespace = job.metadata.namespace!;
  await applyObjects(clients.applier, [job]);
  const started = performance.now();
  let ended: EndedCondition | undefined;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    try {
      ended = endOf((await clients.batch.readNamespacedJob({ name, namespace })).status?.conditions);
    } catch (error) {
      throw explain(error);
    }
    if (ended || performance.now() - started > options.giveUpAfterMs) break;
    await sleep(delay, options.signal);
  }
  let pod: V1Pod | undefined;
  try {
    pod = await podOf(clients.core, namespace, name);
  } catch (error) {
    throw explain(error);
  }
  const log = pod
    ? await clients.core
        .readNamespacedPodLog({ name: pod.metadata!.name!, namespace, container: options.container })
        .catch(() => '')
    : '';
  const exitCode = pod?.status?.containerStatuses?.find((status) => status.name === options.container)?.state
    ?.terminated?.exitCode;
  const podProblem = pod ? await initProblem(clients.core, namespace, pod) : undefined;
  await deleteJob(clients.batch, namespace, name);
  return {
    ended: ended === undefined ? 'gave-up' : ended.type === 'Complete' ? 'complete' : 'failed',
    reason:
      ended === undefined
        ? `the Job did not end within ${Math.round(options.giveUpAfterMs / 1000)} s`
        : [ended.reason, ended.message].filter(Boolean).join(': '),
    log,
    ...(exitCode === undefined ? {} : { exitCode }),
    ...(podProblem === undefined ? {} : { podProblem }),
  };
};
