/** A reader waited longer than it allowed for a subscriber to reach a position; the API maps it to 503. */
export class PositionTimeoutError extends Error {
  override readonly name = 'PositionTimeoutError';
  constructor(
    readonly subscriber: string,
    readonly position: number,
    readonly reached: number,
    readonly timeoutMs: number,
  ) {
    super(`${subscriber} did not reach position ${position} within ${timeoutMs} ms (it is at ${reached})`);
  }
}

/** The subscriber stopped while someone waited for it. */
export class SubscriberStoppedError extends Error {
  override readonly name = 'SubscriberStoppedError';
  constructor(readonly subscriber: string) {
    super(`${subscriber} stopped`);
  }
}

interface Waiter {
  readonly position: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** The last `$all` position a subscriber has fully processed, and the readers waiting for it to move. */
export class PositionTracker {
  private current: number;
  private readonly waiters = new Set<Waiter>();

  constructor(
    private readonly subscriber: string,
    initial = -1,
  ) {
    this.current = initial;
  }

  get position(): number {
    return this.current;
  }

  advance(position: number): void {
    if (position <= this.current) return;
    this.current = position;
    for (const waiter of this.waiters) {
      if (waiter.position > position) continue;
      this.waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
  }

  /** Resolves once `position` is processed; rejects with PositionTimeoutError after `timeoutMs`. */
  wait(position: number, timeoutMs: number): Promise<void> {
    if (position <= this.current) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        position,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new PositionTimeoutError(this.subscriber, position, this.current, timeoutMs));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Rejects every waiter, e.g. when the subscriber stops. */
  rejectAll(error: Error): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiters.clear();
  }
}
