import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../commands/handle-command.js';
import type { EventLog } from '../events/event-log.js';
import type { CommandReaction } from './process-manager.js';

export interface DeadlineTimerOptions {
  readonly eventLog: EventLog;
  /** The commands whose deadline has passed at `now`, read from views folded from the log. */
  readonly due: (now: Date) => readonly Omit<CommandReaction, 'type'>[];
  readonly intervalMs?: number;
  readonly clock?: () => Date;
  readonly onError?: (error: unknown) => void;
}

/**
 * Deadlines as events: each deadline is written in the log when it is set (a confirmation's
 * `expires_at`, a namespace's `deletion_scheduled_for`), so after a restart the views know it
 * again and this timer fires it. Firing is a command whose decider ignores it when it is early
 * or already answered, so firing twice, or on two replicas, changes nothing more.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();

  constructor(private readonly options: DeadlineTimerOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? 1000);
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** Fires what is due now; one tick at a time. */
  tick(): Promise<void> {
    this.ticking = this.ticking.then(() => this.fire());
    return this.ticking;
  }

  private async fire(): Promise<void> {
    const now = (this.options.clock ?? (() => new Date()))();
    for (const deadline of this.options.due(now)) {
      try {
        // The deadline belongs to the story of the request that set it: its stream's first event names it.
        const [first] = await this.options.eventLog.readStream(deadline.stream, { maxCount: 1 });
        const correlationId = first?.metadata.correlation_id ?? deadline.key;
        const result = await handleCommand(this.options.eventLog, deadline.stream, deadline.decider, deadline.command, {
          actor: 'timer',
          correlationId,
          causationId: deadline.key,
          now,
        });
        if (E.isLeft(result) && result.left.kind !== 'conflict')
          this.options.onError?.(new Error(`deadline ${deadline.key}: ${JSON.stringify(result.left)}`));
      } catch (error) {
        this.options.onError?.(error);
      }
    }
  }
}
