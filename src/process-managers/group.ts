/** What a group needs of a runner; ProcessManagerRunner fits. */
export interface Startable {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * All process managers of one gateway, started and stopped together. This is the seam for
 * running them on one replica only: today the composition root calls `start()` at boot and
 * `stop()` on shutdown; with several replicas a leader elector (a Kubernetes Lease) calls
 * `start()` when it gains the lease and `stop()` when it loses it. Runners resume from their
 * checkpoints, so handing over between replicas loses nothing.
 */
export class ProcessManagerGroup {
  private active = false;
  private transition: Promise<void> = Promise.resolve();

  constructor(readonly runners: readonly Startable[]) {
    const names = new Set<string>();
    for (const { name } of runners) {
      if (names.has(name)) throw new Error(`two process managers are named ${name}`);
      names.add(name);
    }
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Starts every runner; if one fails to start, the ones started are stopped again and the error is thrown. */
  start(): Promise<void> {
    return this.serially(async () => {
      if (this.active) return;
      const started: Startable[] = [];
      try {
        for (const runner of this.runners) {
          await runner.start();
          started.push(runner);
        }
      } catch (error) {
        await Promise.allSettled(started.map((runner) => runner.stop()));
        throw error;
      }
      this.active = true;
    });
  }

  /** Stops every runner (in parallel: each finishes or abandons its current reaction and saves its checkpoint). */
  stop(): Promise<void> {
    return this.serially(async () => {
      if (!this.active) return;
      this.active = false;
      const results = await Promise.allSettled(this.runners.map((runner) => runner.stop()));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  /** Start and stop may be called from a leader elector's callbacks in quick succession: one at a time. */
  private serially(step: () => Promise<void>): Promise<void> {
    this.transition = this.transition.then(step, step);
    return this.transition;
  }
}
