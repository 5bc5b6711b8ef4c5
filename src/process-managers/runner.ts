import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../commands/handle-command.js';
import type { DomainEvent } from '../events/domain-event.js';
import type { EventLog, TypedSubscription } from '../events/event-log.js';
import type { CommandContext } from '../events/metadata.js';
import { InvalidEventDataError, UnknownEventTypeError } from '../events/registry.js';
import type { StoredEvent } from '../events/stored-event.js';
import { lagBehindHead, startSubscriberLoop, stopSubscriberLoop } from '../events/subscriber-loop.js';
import { untilAborted } from '../events/until-aborted.js';
import { PositionTracker, SubscriberStoppedError } from '../projections/position-tracker.js';
import { ReactionScheduler } from './reaction-scheduler.js';
import { processManagerEventDefinitions, type ProcessManagerEvent } from './events.js';
import type {
  CommandReaction,
  EffectHandler,
  EffectHandlers,
  EffectOutcome,
  EffectRequest,
  ProcessManager,
  Reaction,
} from './process-manager.js';
import { reactionEventId } from './reaction-ids.js';
import { sleep } from '../shared/sleep.js';
import { DEFAULT_RETRY_POLICY, delayAfter, type RetryPolicy } from './retry-policy.js';

export type ReactionOutcome = 'completed' | 'rejected' | 'failed' | 'already_done';

export interface ProcessManagerRunnerOptions<Effect extends EffectRequest> {
  readonly eventLog: EventLog;
  readonly processManager: ProcessManager<Effect>;
  readonly effects: EffectHandlers<Effect>;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Save the checkpoint after this many processed events of the domain (default 1000). Only this bounds how much a restart re-reads: the reactions' own events, not
   * the checkpoint, are what keeps a reaction from running twice.
   */
  readonly checkpointEvery?: number;
  readonly clock?: () => Date;
  /** `$all` head position minus the last processed position, every `lagIntervalMs` (default 5000). */
  readonly onLag?: (name: string, lag: number) => void;
  readonly lagIntervalMs?: number;
  readonly onReaction?: (name: string, key: string, outcome: ReactionOutcome) => void;
  /** A failed subscription or bookkeeping write; the runner carries on (resubscribing after a pause). */
  readonly onError?: (name: string, error: unknown) => void;
  readonly resubscribeDelayMs?: number;
  /** Reactions doing work at once, across keys (default 8); reactions of one key always run one at a time, in log order. */
  readonly maxConcurrency?: number;
  /** Events whose reactions may be unfinished at once before reading more of the log waits (default 1000). */
  readonly maxPendingEvents?: number;
}

interface Running {
  readonly controller: AbortController;
  loop: Promise<void>;
  subscription: TypedSubscription | undefined;
  lagTimer: NodeJS.Timeout | undefined;
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * Runs one process manager: subscribes to `$all` after its checkpoint, asks the pure reactor
 * what to do about each event, performs that, and appends the outcome with metadata actor
 * `pm:<name>`, causation the causing event, correlation the causing event's correlation.
 *
 * At least once, applied once: each reaction's events get deterministic ids from its key, and
 * the first of them is the proof it is done. A restart re-reads the log after the checkpoint,
 * collects the ids its own actor wrote there, and skips every reaction whose proof it finds. An
 * effect interrupted between doing its I/O and appending its outcome runs again, so effect
 * handlers pass the reaction key on to outside systems as their idempotency key.
 *
 * Only one runner per name may run at a time (one replica: a Lease). `start()` and `stop()` are
 * the seam for that: a leader elector calls them as it gains and loses the lease; a stopped
 * runner can be started again and resumes from its checkpoint.
 */
export class ProcessManagerRunner<Effect extends EffectRequest = EffectRequest> {
  readonly name: string;
  readonly actor: string;
  readonly checkpointStream: string;
  /** ReactionCompleted / ReactionFailed records. */
  readonly reactionsStream: string;

  private readonly tracker: PositionTracker;
  private readonly retry: RetryPolicy;
  private readonly clock: () => Date;
  private running: Running | undefined;
  private savedPosition = -1;
  /** A reaction was performed after the saved checkpoint: stopping saves it, so a restart need not look for its proof. */
  private unsavedWork = false;
  /** Events of the domain processed since the saved checkpoint. */
  private unsavedEvents = 0;
  private lastProcessedId = '';
  private saving: Promise<void> = Promise.resolve();

  constructor(readonly options: ProcessManagerRunnerOptions<Effect>) {
    const { name } = options.processManager;
    if (!NAME.test(name))
      throw new Error(`process manager name ${JSON.stringify(name)} must be lowercase letters, digits and dashes`);
    this.name = name;
    this.actor = `pm:${name}`;
    this.checkpointStream = `pm-${name}-checkpoint`;
    this.reactionsStream = `pm-${name}-reactions`;
    this.tracker = new PositionTracker(`process manager ${name}`);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.clock = options.clock ?? (() => new Date());
  }

  /** The last `$all` position fully processed. */
  get position(): number {
    return this.tracker.position;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Loads the checkpoint and starts processing in the background; resolves once subscribed. */
  async start(): Promise<void> {
    if (this.running) return;
    const [last] = await this.options.eventLog.readStream<ProcessManagerEvent>(this.checkpointStream, {
      direction: 'backwards',
      maxCount: 1,
    });
    const checkpoint = last?.event.type === 'CheckpointSaved' ? last.event.data.position : -1;
    this.tracker.advance(checkpoint);
    this.savedPosition = Math.max(this.savedPosition, checkpoint);
    const controller = new AbortController();
    const running: Running = { controller, loop: Promise.resolve(), subscription: undefined, lagTimer: undefined };
    this.running = running;
    await startSubscriberLoop(running, this, (subscribed) => this.run(running, subscribed));
  }

  /**
   * Aborts waiting effects (their signal), lets the current reaction finish or abandons it (it
   * runs again after a restart), ends the subscription and saves the checkpoint if the runner
   * did work since the last save.
   */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    await stopSubscriberLoop(running, new SubscriberStoppedError(`process manager ${this.name}`));
    if (this.unsavedWork)
      await this.saveCheckpoint().catch((error: unknown) => this.options.onError?.(this.name, error));
    this.running = undefined;
  }

  /** Resolves once the runner has processed `position`; rejects with PositionTimeoutError after `timeoutMs`. */
  waitForPosition(position: number, timeoutMs: number): Promise<void> {
    return this.tracker.wait(position, timeoutMs);
  }

  /** `$all` head position minus the last processed position. */
  lag(): Promise<number> {
    return lagBehindHead(this.options.eventLog.store, this.tracker.position);
  }

  private async run(running: Running, subscribed: () => void): Promise<void> {
    const { signal } = running.controller;
    try {
      while (!signal.aborted) {
        // A reaction that fails unexpectedly (the store away) stops this pass: what was dispatched
        // settles, then the runner subscribes again from the watermark and skips what is done.
        const failed = new AbortController();
        // Proofs of reactions done after the checkpoint; forgotten once the watermark is past them all.
        let completed: { done: Set<string>; scannedTo: number } | undefined;
        const scheduler = new ReactionScheduler({
          maxConcurrency: this.options.maxConcurrency ?? 8,
          maxPendingEvents: this.options.maxPendingEvents ?? 1000,
          onWatermark: (position) => {
            this.tracker.advance(position);
            if (completed && position >= completed.scannedTo) completed.done.clear();
          },
        });
        let failure: unknown;
        const fail = (error: unknown): void => {
          failure ??= error;
          failed.abort();
        };
        try {
          completed = await this.scanCompleted(this.tracker.position);
          const { done } = completed;
          if (signal.aborted) return;
          const after = this.tracker.position;
          const subscription = this.options.eventLog.subscribeToAll(after >= 0 ? { afterPosition: after } : {});
          running.subscription = subscription;
          subscribed();
          const stopping = AbortSignal.any([signal, failed.signal]);
          for await (const stored of untilAborted(subscription, stopping)) {
            await scheduler.dispatch(stored.position, this.jobsFor(stored, done, scheduler, signal, fail));
            if (stopping.aborted) break;
            if (!isBookkeeping(stored)) await this.noteProcessed(stored);
          }
          await subscription.stop();
        } catch (error) {
          fail(error);
        } finally {
          await scheduler.settled();
        }
        if (signal.aborted) return;
        if (failure !== undefined) {
          this.options.onError?.(this.name, failure);
          subscribed();
          await sleep(this.options.resubscribeDelayMs ?? 1000, signal).catch(() => undefined);
        }
      }
    } finally {
      subscribed();
    }
  }

  /**
   * The event's reactions as jobs for the scheduler, each keyed by the stream its outcome goes to.
   * A job answers false when its reaction did not end (stopping abandoned it, or it failed
   * unexpectedly and `fail` stops the pass): the watermark then stays before its event.
   */
  private jobsFor(
    cause: StoredEvent,
    done: ReadonlySet<string>,
    scheduler: ReactionScheduler,
    signal: AbortSignal,
    fail: (error: unknown) => void,
  ): { key: string; run: () => Promise<boolean> }[] {
    if (cause.stream === this.checkpointStream || cause.stream === this.reactionsStream) return [];
    let reactions: readonly Reaction<Effect>[];
    try {
      reactions = this.options.processManager.react(cause);
      assertUniqueKeys(reactions);
    } catch (error) {
      // A reactor bug must neither wedge the runner on this event nor pass unnoticed.
      const key = `react:${cause.id}`;
      return [
        {
          key: this.reactionsStream,
          run: this.guarded(fail, async () => {
            if (!this.isDone(done, key)) {
              this.unsavedWork = true;
              await scheduler.withSlot(() => this.recordFailure(key, 'react', cause, error, 1));
            }
            this.options.onReaction?.(this.name, key, 'failed');
            return true;
          }),
        },
      ];
    }
    return reactions.map((reaction) => ({
      key: reaction.stream,
      run: this.guarded(fail, async () => {
        if (signal.aborted) return false;
        if (this.isDone(done, reaction.key)) {
          this.options.onReaction?.(this.name, reaction.key, 'already_done');
          return true;
        }
        this.unsavedWork = true;
        const outcome = await this.perform(reaction, cause, scheduler, signal);
        if (outcome === 'abandoned') return false;
        this.options.onReaction?.(this.name, reaction.key, outcome);
        return true;
      }),
    }));
  }

  /** A job that fails unexpectedly stops the pass instead of passing as done. */
  private guarded(fail: (error: unknown) => void, run: () => Promise<boolean>): () => Promise<boolean> {
    return async () => {
      try {
        return await run();
      } catch (error) {
        fail(error);
        return false;
      }
    };
  }

  /** Ids of the events this runner's actor wrote after `position`: each proves a reaction done. */
  private async scanCompleted(position: number): Promise<{ done: Set<string>; scannedTo: number }> {
    const done = new Set<string>();
    let scannedTo = position;
    for (;;) {
      const page = await this.options.eventLog.store.readAll({ fromPosition: scannedTo + 1, maxCount: 1000 });
      for (const event of page) if (event.metadata['actor'] === this.actor) done.add(event.id);
      const last = page[page.length - 1];
      if (!last) return { done, scannedTo };
      scannedTo = last.position;
    }
  }

  private async perform(
    reaction: Reaction<Effect>,
    cause: StoredEvent,
    scheduler: ReactionScheduler,
    signal: AbortSignal,
  ): Promise<Exclude<ReactionOutcome, 'already_done'> | 'abandoned'> {
    switch (reaction.type) {
      case 'append':
        return scheduler.withSlot(() =>
          this.appendOutcome(reaction.key, 'append', reaction.stream, reaction.events, cause),
        );
      case 'effect':
        return this.performEffect(reaction, cause, scheduler, signal);
      case 'command':
        return scheduler.withSlot(() => this.runCommand(reaction, cause));
      default:
        return assertNeverReaction(reaction);
    }
  }

  /** Tries the effect until it succeeds or its tries run out; between tries it holds no slot. */
  private async performEffect(
    reaction: Extract<Reaction<Effect>, { type: 'effect' }>,
    cause: StoredEvent,
    scheduler: ReactionScheduler,
    signal: AbortSignal,
  ): Promise<'completed' | 'rejected' | 'failed' | 'abandoned'> {
    const { key, effect } = reaction;
    const handler = (this.options.effects as unknown as Record<string, EffectHandler<Effect> | undefined>)[effect.kind];
    if (!handler) {
      await scheduler.withSlot(() =>
        this.recordFailure(
          key,
          effect.kind,
          cause,
          new Error(`no handler is registered for effect kind ${effect.kind}`),
          0,
        ),
      );
      return 'failed';
    }
    for (let attempt = 1; ; attempt++) {
      const tried = await scheduler.withSlot(
        async (): Promise<{ outcome: 'completed' | 'rejected' | 'failed' } | { error: unknown }> => {
          let outcome: EffectOutcome;
          try {
            outcome = await handler(effect, { signal, key, attempt, cause });
          } catch (error) {
            return { error };
          }
          return { outcome: await this.record(reaction, outcome, cause) };
        },
      );
      if ('outcome' in tried) return tried.outcome;
      if (signal.aborted) return 'abandoned';
      if (attempt >= this.retry.attempts) {
        await scheduler.withSlot(() => this.recordFailure(key, effect.kind, cause, tried.error, attempt));
        return 'failed';
      }
      try {
        await sleep(delayAfter(this.retry, attempt), signal);
      } catch {
        return 'abandoned';
      }
    }
  }

  /** An effect's outcome, as the reaction asks: its events appended, or its command run against the decider. */
  private async record(
    reaction: Extract<Reaction<Effect>, { type: 'effect' }>,
    outcome: EffectOutcome,
    cause: StoredEvent,
  ): Promise<'completed' | 'rejected' | 'failed'> {
    const { key, stream, decider, effect } = reaction;
    if (reaction.rerunnable && isEvents(outcome) && outcome.length === 0) return 'completed';
    if (decider) {
      // No events is "nothing to record" (the work turned out not to be needed); events are a bug: they would bypass the decider.
      if (isEvents(outcome) && outcome.length === 0)
        return this.appendOutcome(key, effect.kind, stream, outcome, cause);
      if (isEvents(outcome))
        return this.recordBug(
          key,
          effect.kind,
          cause,
          `the ${effect.kind} handler returned events, but its reaction runs a command`,
        );
      return this.runCommand({ type: 'command', key, stream, decider, command: outcome.command }, cause);
    }
    if (!isEvents(outcome))
      return this.recordBug(
        key,
        effect.kind,
        cause,
        `the ${effect.kind} handler returned a command, but its reaction has no decider`,
      );
    return this.appendOutcome(key, effect.kind, stream, outcome, cause);
  }

  private async recordBug(key: string, kind: string, cause: StoredEvent, message: string): Promise<'failed'> {
    await this.recordFailure(key, kind, cause, new Error(message), 1);
    return 'failed';
  }

  private async runCommand(
    reaction: CommandReaction,
    cause: StoredEvent,
  ): Promise<'completed' | 'rejected' | 'failed'> {
    const { key } = reaction;
    let result: Awaited<ReturnType<typeof handleCommand>>;
    try {
      result = await handleCommand(
        this.options.eventLog,
        reaction.stream,
        reaction.decider,
        reaction.command,
        this.contextFor(cause),
        {
          eventIds: (events) => events.map((_, index) => reactionEventId(this.name, key, index)),
        },
      );
    } catch (error) {
      if (!isEventShapeError(error)) throw error;
      await this.recordFailure(key, 'command', cause, error, 1);
      return 'failed';
    }
    if (E.isLeft(result)) {
      await this.recordCompleted(key, cause, 'rejected', JSON.stringify(result.left));
      return 'rejected';
    }
    if (result.right.events.length === 0) await this.recordCompleted(key, cause, 'no_events');
    return 'completed';
  }

  private async appendOutcome(
    key: string,
    kind: string,
    stream: string,
    events: readonly DomainEvent[],
    cause: StoredEvent,
  ): Promise<'completed' | 'failed'> {
    if (events.length === 0) {
      await this.recordCompleted(key, cause, 'no_events');
      return 'completed';
    }
    try {
      await this.options.eventLog.append(stream, events, {
        expectedRevision: 'any',
        context: this.contextFor(cause),
        eventIds: events.map((_, index) => reactionEventId(this.name, key, index)),
      });
      return 'completed';
    } catch (error) {
      // Events that fail their codec are a bug in the handler: retrying cannot help.
      if (!isEventShapeError(error)) throw error;
      await this.recordFailure(key, kind, cause, error, 1);
      return 'failed';
    }
  }

  private async recordCompleted(
    key: string,
    cause: StoredEvent,
    outcome: 'no_events' | 'rejected',
    detail?: string,
  ): Promise<void> {
    await this.appendBookkeeping(key, cause, {
      type: 'ReactionCompleted',
      data: {
        process_manager: this.name,
        key,
        cause_event_id: cause.id,
        outcome,
        ...(detail === undefined ? {} : { detail }),
      },
    });
  }

  private async recordFailure(
    key: string,
    kind: string,
    cause: StoredEvent,
    error: unknown,
    attempts: number,
  ): Promise<void> {
    await this.appendBookkeeping(key, cause, {
      type: 'ReactionFailed',
      data: {
        process_manager: this.name,
        key,
        cause_event_id: cause.id,
        effect_kind: kind,
        error: messageOf(error),
        attempts,
      },
    });
  }

  private async appendBookkeeping(key: string, cause: StoredEvent, event: ProcessManagerEvent): Promise<void> {
    await this.options.eventLog.append(this.reactionsStream, [event], {
      expectedRevision: 'any',
      context: this.contextFor(cause),
      eventIds: [this.proofOf(key)],
    });
  }

  /**
   * Checkpoints are bookkeeping in the audited log, so they are written rarely: after
   * `checkpointEvery` events of the domain, never for time passing and never for bookkeeping
   * (were other runners' checkpoints counted, each save would lead every other runner to save,
   * for ever, on an idle gateway).
   */
  private async noteProcessed(stored: StoredEvent): Promise<void> {
    this.lastProcessedId = stored.id;
    this.unsavedEvents++;
    if (this.unsavedEvents >= (this.options.checkpointEvery ?? 1000)) await this.saveCheckpoint();
  }

  private saveCheckpoint(): Promise<void> {
    const save = async (): Promise<void> => {
      const position = this.tracker.position;
      if (position <= this.savedPosition) return;
      this.unsavedWork = false;
      this.unsavedEvents = 0;
      await this.options.eventLog.append(
        this.checkpointStream,
        [{ type: 'CheckpointSaved', data: { subscriber: this.name, position } }],
        {
          expectedRevision: 'any',
          context: {
            actor: this.actor,
            correlationId: this.checkpointStream,
            causationId: this.lastProcessedId || this.checkpointStream,
            now: this.clock(),
          },
        },
      );
      this.savedPosition = Math.max(this.savedPosition, position);
    };
    this.saving = this.saving.then(save, save);
    return this.saving;
  }

  private contextFor(cause: StoredEvent): CommandContext {
    return {
      actor: this.actor,
      correlationId: cause.metadata.correlation_id,
      causationId: cause.id,
      now: this.clock(),
    };
  }

  private proofOf(key: string): string {
    return reactionEventId(this.name, key, 0);
  }

  /** Proofs are only looked for after a restart: while none are left to check, no id is computed. */
  private isDone(done: ReadonlySet<string>, key: string): boolean {
    return done.size > 0 && done.has(this.proofOf(key));
  }
}

const assertUniqueKeys = (reactions: readonly Reaction<EffectRequest>[]): void => {
  const keys = new Set<string>();
  for (const { key } of reactions) {
    if (keys.has(key)) throw new Error(`two reactions share the key ${JSON.stringify(key)}`);
    keys.add(key);
  }
};

const BOOKKEEPING_TYPES = new Set(processManagerEventDefinitions.map((definition) => definition.type));

/** What runners write about themselves: checkpoints and reaction records. */
const isBookkeeping = (stored: StoredEvent): boolean => BOOKKEEPING_TYPES.has(stored.event.type);

const isEvents = (outcome: EffectOutcome): outcome is readonly DomainEvent[] => Array.isArray(outcome);

const isEventShapeError = (error: unknown): boolean =>
  error instanceof InvalidEventDataError || error instanceof UnknownEventTypeError;

const messageOf = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

const assertNeverReaction = (reaction: never): never => {
  throw new Error(`unknown reaction ${JSON.stringify(reaction)}`);
};
