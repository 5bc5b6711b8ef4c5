import type { RecordedEvent, Subscription } from '../port.js';

/** What a subscription needs from the store: pages of committed events and a commit signal. */
export interface CommitFeed {
  /** Increases with every durable commit; read before fetching to detect a commit racing the fetch. */
  commitCount(): number;
  /** Resolves at the next commit or when the store closes. */
  nextCommit(): Promise<void>;
  isClosed(): boolean;
}

/**
 * Catch-up and live are the same loop: read the next page of committed events after the
 * cursor from the log; when there is none, sleep until the next commit. Live events are read
 * exactly like old ones, so there is no seam to get wrong, and a slow consumer holds only
 * one page in memory.
 */
export class PagedSubscription implements Subscription {
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly feed: CommitFeed,
    private readonly pageAfter: (cursor: number) => Promise<RecordedEvent[]>,
    private readonly cursorOf: (event: RecordedEvent) => number,
    private cursor: number,
    /** What a full page holds: a shorter one, with no commit since it was asked for, was everything there is. */
    private readonly pageSize: number = Number.POSITIVE_INFINITY,
  ) {}

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    while (!this.stopped && !this.feed.isClosed()) {
      const seen = this.feed.commitCount();
      const page = await this.pageAfter(this.cursor);
      for (const event of page) {
        if (this.stopped) return;
        this.cursor = this.cursorOf(event);
        yield event;
      }
      // Asking again only when there may be more saves a read per event for each live subscriber.
      if (page.length >= this.pageSize || this.feed.commitCount() !== seen) continue;
      if (this.stopped) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void this.feed.nextCommit().then(resolve);
      });
      this.wake = undefined;
    }
  }
}
