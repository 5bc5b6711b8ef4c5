import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../commands/handle-command.js';
import type { EventLog } from '../events/event-log.js';
import { KeyedQueue } from '../events/keyed-queue.js';
import { untilAborted } from '../events/until-aborted.js';
import type { LabCluster, PodsVerdict, PodsWatch } from '../labs/cluster.js';
import { deploymentDecider, type DeploymentCommand } from './decider.js';
import { deploymentStream } from './events.js';

/** A lab whose deployment is at its `pods_ready` step. */
export interface WaitingLab {
  readonly deploymentId: string;
  readonly namespace: string;
  readonly selector: string;
}

export interface PodsWatcherOptions {
  readonly eventLog: EventLog;
  readonly cluster: LabCluster;
  /** The labs waiting for their pods now, from views folded from the log. */
  readonly waiting: () => readonly WaitingLab[];
  /** How often the set of waiting labs is read again (default 250 ms): after a failed watch, or a restart. */
  readonly intervalMs?: number;
  /**
   * Resolves once the views `waiting` reads include `position`. Given, a deployment that reaches
   * its pods_ready step is watched as soon as the views show it, not at the next interval.
   */
  readonly viewsAt?: (position: number) => Promise<void>;
  readonly clock?: () => Date;
  readonly onError?: (error: unknown) => void;
}

/**
 * Waiting is not work: a lab waiting for its pods holds no process-manager worker, only a watch
 * here. The set of labs to watch is read from the views (so after a restart every wait resumes:
 * re-listed, re-watched), and what a watch sees becomes a command on the deployment: its pods'
 * state as progress, `PodsReady`, or the failure a pod cannot recover from. The time limit is a
 * durable deadline (the deadline timer's `TimeOutPods`), not a timer held here.
 */
export class PodsWatcher {
  private readonly watches = new Map<string, PodsWatch>();
  /** One deployment's commands in the order its watch saw them. */
  private readonly commands = new KeyedQueue();
  private readonly pending = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private following: { readonly stop: AbortController; readonly done: Promise<void> } | undefined;

  constructor(private readonly options: PodsWatcherOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.reconcile(), this.options.intervalMs ?? 250);
    this.timer.unref();
    this.reconcile();
    if (this.options.viewsAt) {
      const stop = new AbortController();
      this.following = { stop, done: this.follow(this.options.viewsAt, stop.signal) };
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.following?.stop.abort();
    await this.following?.done;
    this.following = undefined;
    for (const watch of this.watches.values()) watch.stop();
    this.watches.clear();
    await Promise.allSettled([...this.pending]);
  }

  /** Watches every waiting lab not watched yet; stops watching the ones that no longer wait. */
  reconcile(): void {
    const waiting = this.options.waiting();
    const ids = new Set(waiting.map((lab) => lab.deploymentId));
    for (const lab of waiting) {
      if (this.watches.has(lab.deploymentId)) continue;
      this.watches.set(
        lab.deploymentId,
        this.options.cluster.watchPods(lab.namespace, lab.selector, (verdict) => this.heard(lab, verdict)),
      );
    }
    for (const [id, watch] of this.watches) {
      if (ids.has(id)) continue;
      watch.stop();
      this.watches.delete(id);
    }
  }

  /** Reconciles at each deployment that starts waiting for its pods, once the views show it. */
  private async follow(viewsAt: (position: number) => Promise<void>, signal: AbortSignal): Promise<void> {
    try {
      const [head] = await this.options.eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
      const subscription = this.options.eventLog.subscribeToAll(head ? { afterPosition: head.position } : {});
      try {
        for await (const stored of untilAborted(subscription, signal)) {
          if (
            stored.event.type !== 'DeploymentStepStarted' ||
            (stored.event.data as { step?: unknown }).step !== 'pods_ready'
          )
            continue;
          // Views that do not catch up in time (or failed) are read as they are; the interval covers the rest.
          await viewsAt(stored.position).catch(() => undefined);
          this.reconcile();
        }
      } finally {
        await subscription.stop();
      }
    } catch (error) {
      // The interval still reconciles: a lab is watched at most one interval late.
      if (!signal.aborted) this.options.onError?.(error);
    }
  }

  private heard(lab: WaitingLab, verdict: PodsVerdict): void {
    const now = (this.options.clock ?? (() => new Date()))();
    const command: DeploymentCommand =
      verdict.kind === 'ready'
        ? { type: 'RecordPodsReady', namespace: lab.namespace, pods: verdict.pods, now }
        : verdict.kind === 'failed'
          ? { type: 'FailDeployment', step: 'pods_ready', reason: verdict.reason, now }
          : { type: 'ReportProgress', step: 'pods_ready', message: verdict.detail, now };
    if (verdict.kind !== 'waiting') {
      this.watches.get(lab.deploymentId)?.stop();
      this.watches.delete(lab.deploymentId);
    }
    const recorded = this.commands.run(lab.deploymentId, () => this.record(lab.deploymentId, command));
    this.pending.add(recorded);
    void recorded.finally(() => this.pending.delete(recorded));
  }

  private async record(deploymentId: string, command: DeploymentCommand): Promise<void> {
    const stream = deploymentStream(deploymentId);
    try {
      // What the watch saw belongs to the story of the request that asked for the deployment.
      const [first] = await this.options.eventLog.readStream(stream, { maxCount: 1 });
      const result = await handleCommand(this.options.eventLog, stream, deploymentDecider, command, {
        actor: 'watch:pods',
        correlationId: first?.metadata.correlation_id ?? stream,
        causationId: `pods-watch:${deploymentId}`,
        now: command.now,
      });
      // A conflict: the step ended meanwhile (failed, timed out); what the watch saw is no news.
      if (E.isLeft(result) && result.left.kind !== 'conflict')
        this.options.onError?.(new Error(`pods of deployment ${deploymentId}: ${JSON.stringify(result.left)}`));
    } catch (error) {
      // The log could not take it: watch again at the next reconcile, which tells the verdict anew.
      this.watches.get(deploymentId)?.stop();
      this.watches.delete(deploymentId);
      this.options.onError?.(error);
    }
  }
}
