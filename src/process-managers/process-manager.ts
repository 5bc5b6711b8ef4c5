import type { Decider, DeciderOf, SomeDecider } from '../commands/decider.js';
import type { DomainError } from '../commands/domain-error.js';
import type { DomainEvent } from '../events/domain-event.js';
import type { StoredEvent } from '../events/stored-event.js';

/** A request for I/O, tagged by `kind`; the runner hands it to the effect handler registered for that kind. */
export interface EffectRequest {
  readonly kind: string;
}

/**
 * What a process manager wants done about an event. Every reaction has a `key` that is stable
 * across replays (derive it from the causing event's id and the reaction's purpose): the runner
 * performs a reaction at most once per key, even across crashes and restarts. Each reaction's
 * outcome is one atomic append to one stream; work that writes to several streams is several
 * reactions.
 */
export type Reaction<Effect extends EffectRequest = EffectRequest> =
  /**
   * Perform the effect. Without a decider, append the events its handler returns to `stream`
   * (streams the reaction owns, such as a webhook outbox). With one, the handler returns a
   * command, which runs against the aggregate on `stream` like any other: the aggregate's one
   * write path, with its expected revision.
   */
  | {
      readonly type: 'effect';
      readonly key: string;
      readonly stream: string;
      readonly effect: Effect;
      readonly decider?: SomeDecider;
      /**
       * Running it again changes nothing more (it rewrites a file from the log, or records through
       * a decider that ignores a repeat): when it has nothing to record, no proof is written, and
       * after a crash it may simply run again. Keeps no-op bookkeeping out of the audited log.
       */
      readonly rerunnable?: true;
    }
  /** Append these events to `stream` (no I/O needed to know them). */
  | { readonly type: 'append'; readonly key: string; readonly stream: string; readonly events: readonly DomainEvent[] }
  /** Run a command against an aggregate; a refusal is recorded, not retried. */
  | CommandReaction;

export interface CommandReaction {
  readonly type: 'command';
  readonly key: string;
  readonly stream: string;
  readonly decider: SomeDecider;
  readonly command: unknown;
}

/** An effect whose outcome is a command for `decider` on `stream` (its handler returns `{ command }`). */
export const effectThenCommand = <Effect extends EffectRequest, Command>(
  key: string,
  stream: string,
  decider: DeciderOf<Command>,
  effect: Effect,
  options: { readonly rerunnable?: true } = {},
): Reaction<Effect> => ({ type: 'effect', key, stream, effect, decider, ...options });

/** A command reaction, type-checked against its decider. */
export const commandReaction = <Command, Event extends DomainEvent, State, Error extends DomainError>(
  key: string,
  stream: string,
  decider: Decider<Command, Event, State, Error>,
  command: Command,
): CommandReaction => ({ type: 'command', key, stream, decider, command });

/**
 * A process manager is pure: given an event, the reactions it asks for (usually none). The
 * runner does the I/O. Test it with given/when/then on `react`, no mocks.
 */
export interface ProcessManager<Effect extends EffectRequest = EffectRequest> {
  /** Names the runner's checkpoint and bookkeeping streams and the `pm:<name>` actor; letters, digits, dashes. */
  readonly name: string;
  readonly react: (event: StoredEvent) => readonly Reaction<Effect>[];
}

export interface EffectContext {
  /** Aborted when the runner stops: give up, the reaction runs again after the restart. */
  readonly signal: AbortSignal;
  /** The reaction's key: pass it on to outside systems that take an idempotency key. */
  readonly key: string;
  /** 1 on the first try. */
  readonly attempt: number;
  readonly cause: StoredEvent;
}

/**
 * What an effect handler says happened: the events to append, or (for a reaction with a decider)
 * the command that records it on the aggregate, or no events when there is nothing to record.
 */
export type EffectOutcome = readonly DomainEvent[] | { readonly command: unknown };

/** Performs one kind of effect and says what happened; throws to ask for a retry. */
export type EffectHandler<Effect extends EffectRequest> = (
  request: Effect,
  context: EffectContext,
) => Promise<EffectOutcome>;

export type EffectHandlers<Effect extends EffectRequest> = {
  readonly [Kind in Effect['kind']]: EffectHandler<Extract<Effect, { kind: Kind }>>;
};
