/** The parts of a pod's status that say whether it is ready or can never become so. */
export interface PodStatus {
  readonly phase?: string;
  readonly conditions?: readonly {
    readonly type: string;
    readonly status: string;
    readonly reason?: string;
    readonly message?: string;
  }[];
  readonly containerStatuses?: readonly ContainerStatus[];
  readonly initContainerStatuses?: readonly ContainerStatus[];
}

interface ContainerState {
  readonly waiting?: { readonly reason?: string; readonly message?: string };
  readonly terminated?: { readonly reason?: string; readonly exitCode?: number };
}

interface ContainerStatus {
  readonly name: string;
  readonly ready?: boolean;
  readonly state?: ContainerState;
  /** The run before this one: for a container in CrashLoopBackOff, how it last ended. */
  readonly lastState?: ContainerState;
}

/** How a restarting container last ended, as `kubectl describe` shows it: "last exit code 3 (Error)". */
const lastExit = (container: ContainerStatus): string => {
  const ended = container.lastState?.terminated;
  if (ended?.exitCode === undefined) return '';
  return `; last exit code ${ended.exitCode}${ended.reason ? ` (${ended.reason})` : ''}`;
};

export type PodVerdict =
  | { readonly kind: 'ready' }
  | { readonly kind: 'waiting'; readonly detail: string }
  | { readonly kind: 'failed'; readonly reason: string };

/** Waiting reasons that no amount of waiting mends: fail fast with them. */
const HOPELESS = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  // The image may not be pulled (imagePullPolicy Never) and is not on the node.
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

/**
 * What a pod's status says, judged as a person at `kubectl describe` would: ready, still coming
 * up (and why), or failed for good (CrashLoopBackOff, ImagePullBackOff, unschedulable) with the
 * kubelet's or scheduler's own words.
 */
export const judgePod = (name: string, status: PodStatus | undefined): PodVerdict => {
  const conditions = status?.conditions ?? [];
  const scheduled = conditions.find((condition) => condition.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { kind: 'failed', reason: `pod ${name} cannot be scheduled: ${scheduled.message ?? 'Unschedulable'}` };
  }
  for (const [which, statuses] of [
    ['init container', status?.initContainerStatuses],
    ['container', status?.containerStatuses],
  ] as const) {
    for (const container of statuses ?? []) {
      const waiting = container.state?.waiting;
      if (waiting?.reason && HOPELESS.has(waiting.reason)) {
        return {
          kind: 'failed',
          reason: `${which} ${container.name} of pod ${name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}${lastExit(container)}`,
        };
      }
    }
  }
  if (conditions.some((condition) => condition.type === 'Ready' && condition.status === 'True'))
    return { kind: 'ready' };
  const waiting = [...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? [])].find(
    (container) => container.state?.waiting?.reason,
  )?.state?.waiting?.reason;
  return { kind: 'waiting', detail: `pod ${name} is ${status?.phase ?? 'Pending'}${waiting ? ` (${waiting})` : ''}` };
};
