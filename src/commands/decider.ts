import { left, right, type Either } from 'fp-ts/lib/Either.js';
import type { DomainEvent } from '../events/domain-event.js';
import { conflict, type DomainError } from './domain-error.js';

/**
 * An aggregate as a pure decider (Emmett style): the state is a fold of the stream's events, and
 * a command is decided against it. No I/O, no clock, no random ids: time and ids come in with the
 * command.
 */
export interface Decider<Command, Event extends DomainEvent, State, Error = DomainError> {
  readonly initialState: () => State;
  readonly evolve: (state: State, event: Event) => State;
  readonly decide: (command: Command, state: State) => Either<Error, readonly Event[]>;
}

/**
 * Any one decider, whatever its command, events and state: what a reaction or a deadline holds
 * beside others of other aggregates (a decider is invariant in its state, so nothing narrower
 * takes them all).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the existential type TypeScript lacks
export type SomeDecider = Decider<any, any, any>;
/** Any one decider that takes `Command`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above, for its events and state
export type DeciderOf<Command> = Decider<Command, any, any>;

/** Folds events into state with a decider's `evolve`, e.g. for given/when/then tests and `as_of` views. */
export const foldEvents = <Event extends DomainEvent, State>(
  decider: Pick<Decider<never, Event, State, unknown>, 'initialState' | 'evolve'>,
  events: Iterable<Event>,
  initial: State = decider.initialState(),
): State => {
  let state = initial;
  for (const event of events) state = decider.evolve(state, event);
  return state;
};

/** A decision to record these events (none at all: the command changes nothing). */
export const accept = <Event>(...events: Event[]): Either<DomainError, readonly Event[]> => right(events);

/**
 * The refusals of one aggregate: a command not allowed in its current status is a conflict whose
 * detail ends by naming that status, e.g. "(the deployment is failed)".
 */
export const refusalsOf =
  (aggregate: string) =>
  (status: string, detail: string): Either<DomainError, never> =>
    left(conflict(status, `${detail} (the ${aggregate} is ${status})`));
