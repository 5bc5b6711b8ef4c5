import type { EventLog, TypedSubscription } from '../events/event-log.js';
import type { StoredEvent } from '../events/stored-event.js';
import { lagBehindHead, startSubscriberLoop, stopSubscriberLoop } from '../events/subscriber-loop.js';
import { untilAborted } from '../events/until-aborted.js';
import { sleep } from '../shared/sleep.js';
import { PositionTracker, SubscriberStoppedError } from './position-tracker.js';
import { applyToDocuments, type DocumentProjection, type Projection } from './projection.js';

export interface ProjectionRunnerOptions {
  readonly eventLog: EventLog;
  /** `$all` head position minus the last processed position, every `lagIntervalMs` (default 5000). */
  readonly onLag?: (name: string, lag: number) => void;
  readonly lagIntervalMs?: number;
  /** A failed subscription (the runner resubscribes after `resubscribeDelayMs`) or a failed fold. */
  readonly onError?: (name: string, error: unknown) => void;
  readonly resubscribeDelayMs?: number;
}

/** A fold threw: the view stays at the last good state and waiting for it fails until it is restarted. */
export class ProjectionFailedError extends Error {
  override readonly name = 'ProjectionFailedError';
  constructor(
    readonly projection: string,
    readonly position: number,
    options: { cause: unknown },
  ) {
    super(
      `projection ${projection} failed at position ${position}: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
  }
}

type ProjectionStatus = 'stopped' | 'running' | 'failed';

interface Running {
  stopped: boolean;
  readonly controller: AbortController;
  subscription: TypedSubscription | undefined;
  loop: Promise<void>;
  lagTimer?: NodeJS.Timeout;
}

/**
 * Keeps a read model current: subscribes to `$all` from the beginning, holds the state in
 * memory, and lets a request wait until the model has processed a position, so a GET right
 * after a POST (which answered with its position) sees the write.
 *
 * The model lives in memory and is folded from the whole log when the process starts (the
 * embedded store replays hundreds of thousands of events per second); snapshots can come later
 * without changing this API.
 */
abstract class ProjectionRunnerBase {
  private readonly tracker: PositionTracker;
  private running: Running | undefined;
  private failure: ProjectionFailedError | undefined;

  protected constructor(
    readonly name: string,
    readonly options: ProjectionRunnerOptions,
  ) {
    this.tracker = new PositionTracker(`projection ${name}`);
  }

  /** The last `$all` position folded into the view; -1 before the first. */
  get position(): number {
    return this.tracker.position;
  }

  get status(): ProjectionStatus {
    if (this.failure) return 'failed';
    return this.running ? 'running' : 'stopped';
  }

  /**
   * Starts folding in the background (from the beginning of the log the first time, where it
   * stopped after a stop); resolves once subscribed. After a failure, retries the failed event.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.failure = undefined;
    const running: Running = {
      stopped: false,
      controller: new AbortController(),
      subscription: undefined,
      loop: Promise.resolve(),
    };
    this.running = running;
    await startSubscriberLoop(running, this, (subscribed) => this.run(running, subscribed));
  }

  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    running.stopped = true;
    await stopSubscriberLoop(running);
    this.running = undefined;
    this.tracker.rejectAll(new SubscriberStoppedError(`projection ${this.name}`));
  }

  /**
   * Resolves once the view includes `position` (e.g. the position a command answered with);
   * rejects with PositionTimeoutError after `timeoutMs`, or ProjectionFailedError. The API maps both to 503.
   */
  waitForPosition(position: number, timeoutMs: number): Promise<void> {
    if (this.failure && position > this.tracker.position) return Promise.reject(this.failure);
    return this.tracker.wait(position, timeoutMs);
  }

  /** Waits until the view has caught up with the log as it is now. */
  async waitUntilCaughtUp(timeoutMs: number): Promise<void> {
    const [head] = await this.options.eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
    await this.waitForPosition(head?.position ?? -1, timeoutMs);
  }

  lag(): Promise<number> {
    return lagBehindHead(this.options.eventLog.store, this.tracker.position);
  }

  protected abstract apply(event: StoredEvent): void;

  private async run(running: Running, subscribed: () => void): Promise<void> {
    try {
      while (!running.stopped) {
        try {
          const after = this.tracker.position;
          const subscription = this.options.eventLog.subscribeToAll(after >= 0 ? { afterPosition: after } : {});
          running.subscription = subscription;
          subscribed();
          for await (const stored of untilAborted(subscription, running.controller.signal)) {
            try {
              this.apply(stored);
            } catch (error) {
              this.fail(stored.position, error);
              return;
            }
            this.tracker.advance(stored.position);
          }
        } catch (error) {
          if (running.stopped) return;
          this.options.onError?.(this.name, error);
          await sleep(this.options.resubscribeDelayMs ?? 1000, running.controller.signal).catch(() => undefined);
        }
      }
    } finally {
      subscribed();
    }
  }

  private fail(position: number, cause: unknown): void {
    this.failure = new ProjectionFailedError(this.name, position, { cause });
    this.options.onError?.(this.name, this.failure);
    void this.running?.subscription?.stop();
    this.tracker.rejectAll(this.failure);
  }
}

/** Runs a fold projection; `getState()` is the view as of `position`. */
export class ProjectionRunner<State> extends ProjectionRunnerBase {
  private state: State;

  constructor(
    private readonly projection: Projection<State>,
    options: ProjectionRunnerOptions,
  ) {
    super(projection.name, options);
    this.state = projection.initialState();
  }

  getState(): State {
    return this.state;
  }

  protected apply(event: StoredEvent): void {
    this.state = this.projection.evolve(this.state, event);
  }
}

/** Runs a document projection; documents are read by id or listed. */
export class DocumentProjectionRunner<Document> extends ProjectionRunnerBase {
  private readonly documents = new Map<string, Document>();

  constructor(
    private readonly projection: DocumentProjection<Document>,
    options: ProjectionRunnerOptions,
  ) {
    super(projection.name, options);
  }

  get(id: string): Document | undefined {
    return this.documents.get(id);
  }

  /** Every document, in the order each first appeared. A read-only view of the live map: copy it before awaiting. */
  getState(): ReadonlyMap<string, Document> {
    return this.documents;
  }

  get size(): number {
    return this.documents.size;
  }

  protected apply(event: StoredEvent): void {
    applyToDocuments(this.projection, this.documents, event);
  }
}
