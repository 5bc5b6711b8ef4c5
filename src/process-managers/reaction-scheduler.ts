/**
 * When a process manager's reactions run. Reactions for one key (the stream their outcome goes
 * to: one deployment, one session, one webhook outbox) run one at a time, in the order their
 * events arrived; reactions for different keys run side by side, at most `maxConcurrency` at a
 * time. The low watermark is the last position whose events' reactions have all finished, and
 * every one before it: the checkpoint never passes it, so a crash re-runs only unfinished work.
 */
export class ReactionScheduler {
  /** Per key, the tail of its chain: the next reaction of that key starts when it settles. */
  private readonly tails = new Map<string, Promise<void>>();
  /** Positions dispatched and not yet below the watermark, in order, with their unfinished reactions. */
  private readonly pending = new Map<number, number>();
  private readonly order: number[] = [];
  private head = 0;
  private running = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private readonly roomWaiters: (() => void)[] = [];
  private settledWaiters: (() => void)[] = [];
  private unfinished = 0;

  constructor(
    private readonly options: {
      readonly maxConcurrency: number;
      /** Events dispatched and unfinished at most; `dispatch` waits beyond it (backpressure). */
      readonly maxPendingEvents: number;
      /** Called as the watermark moves forward. */
      readonly onWatermark: (position: number) => void;
    },
  ) {}

  /** Events dispatched whose reactions are not all finished. */
  get pendingEvents(): number {
    return this.unfinished;
  }

  /**
   * Queues the reactions of the event at `position` (each on its key) and resolves once they are
   * queued; waits first while too many events are unfinished. `run` performs one reaction; it
   * returns false when the reaction was abandoned (the runner stops): the event then stays
   * unfinished and the watermark never passes it.
   */
  async dispatch(
    position: number,
    jobs: readonly { readonly key: string; readonly run: () => Promise<boolean> }[],
  ): Promise<void> {
    while (this.unfinished >= this.options.maxPendingEvents)
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    this.order.push(position);
    if (jobs.length === 0) {
      this.pending.set(position, 0);
      this.advance();
      return;
    }
    this.pending.set(position, jobs.length);
    this.unfinished++;
    for (const job of jobs) {
      const previous = this.tails.get(job.key) ?? Promise.resolve();
      const current = previous.then(job.run).then(
        (finished) => this.finish(position, finished),
        () => this.finish(position, false),
      );
      this.tails.set(job.key, current);
      void current.then(() => {
        if (this.tails.get(job.key) === current) this.tails.delete(job.key);
        if (this.tails.size === 0) this.wakeSettled();
      });
    }
  }

  /** Resolves once every dispatched reaction has settled (finished or abandoned). */
  settled(): Promise<void> {
    if (this.tails.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /**
   * Holds one of the `maxConcurrency` slots while `work` runs. A reaction takes a slot for each
   * try of its work, not for its waits between tries: waiting is not work.
   */
  async withSlot<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.options.maxConcurrency)
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    else this.running++;
    try {
      return await work();
    } finally {
      const next = this.slotWaiters.shift();
      if (next) next();
      else this.running--;
    }
  }

  private finish(position: number, finished: boolean): void {
    const left = this.pending.get(position);
    if (left !== undefined && finished) {
      this.pending.set(position, left - 1);
      if (left - 1 === 0) {
        this.unfinished--;
        this.roomWaiters.shift()?.();
      }
      this.advance();
    }
  }

  private wakeSettled(): void {
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Moves the watermark over every finished event at the front. */
  private advance(): void {
    let moved: number | undefined;
    while (this.head < this.order.length && this.pending.get(this.order[this.head]!) === 0) {
      moved = this.order[this.head]!;
      this.pending.delete(moved);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
    if (moved !== undefined) this.options.onWatermark(moved);
  }
}
