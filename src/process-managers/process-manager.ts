import type { Decider } from '../commands/decider.js';
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
  /** Perform the effect; append the events its handler returns to `stream`. */
  | { readonly type: 'effect'; readonly key: string; readonly stream: string; readonly effect: Effect }
  /** Append these events to `stream` (no I/O needed to know them). */
  | { readonly type: 'append'; readonly key: string; readonly stream: string; readonly events: readonly DomainEvent[] }
  /** Run a command against an aggregate; a refusal is recorded, not retried. */
  | CommandReaction;

export interface CommandReaction {
  readonly type: 'command';
  readonly key: string;
  readonly stream: string;
  readonly decider: Decider<any, any, any, any>;
  readonly command: unknown;
}

/** A command reaction, type-checked against its decider. */
export const commandReaction = <Command, Event extends DomainEvent, State, Error>(
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

/** Performs one kind of effect and returns the events that record what happened; throws to ask for a retry. */
export type EffectHandler<Effect extends EffectRequest> = (request: Effect, context: EffectContext) => Promise<readonly DomainEvent[]>;

export type EffectHandlers<Effect extends EffectRequest> = {
  readonly [Kind in Effect['kind']]: EffectHandler<Extract<Effect, { kind: Kind }>>;
};
