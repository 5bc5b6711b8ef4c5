import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { WrongExpectedRevisionError } from '../eventstore/port.js';
import type { DomainEvent } from '../events/domain-event.js';
import type { EventLog } from '../events/event-log.js';
import { KeyedQueue } from '../events/keyed-queue.js';
import type { CommandContext } from '../events/metadata.js';
import type { Decider } from './decider.js';
import type { Contended, DomainError, PreconditionFailed } from './domain-error.js';

export interface HandleCommandOptions<Event extends DomainEvent> {
  /** The revision the client saw (`If-Match`): a different current revision answers 412 without retrying. */
  readonly expectedRevision?: number;
  /** How many times to re-read and re-decide after another writer changed the stream first. Default 3. */
  readonly maxRetries?: number;
  /**
   * Ids for the appended events (deterministic ids make a retried append a no-op). A list must
   * match the number of events decided; a function is asked once per attempt with the events.
   */
  readonly eventIds?: readonly string[] | ((events: readonly Event[]) => readonly string[]);
}

/** An event as `handleCommand` appended it. */
interface AppendedEvent<Event extends DomainEvent = DomainEvent> {
  readonly id: string;
  readonly stream: string;
  readonly revision: number;
  readonly event: Event;
}

export interface CommandResult<Event extends DomainEvent, State> {
  /** What this command appended; empty when the decider decided nothing needed to change. */
  readonly events: readonly AppendedEvent<Event>[];
  /** The state after the appended events. */
  readonly state: State;
  /** The stream's revision now (the resource's ETag); -1 while the stream does not exist. */
  readonly revision: number;
  /** `$all` position of the stream's last event (for `waitForPosition`); null while it is empty. */
  readonly position: number | null;
}

const DEFAULT_MAX_RETRIES = 3;

/** Per event log: commands on one stream from this process take turns. */
const turns = new WeakMap<EventLog, KeyedQueue>();

/**
 * Reads the stream, folds it, decides, and appends at the revision read. When another writer got
 * there first, re-reads only the new events and decides again, a bounded number of times.
 *
 * Commands on one stream from this process run one after another, so they never race each
 * other (a burst of compatible commands all succeed without burning retries); the retries are
 * for writers in other processes (several gateway replicas on EventStoreDB).
 */
export const handleCommand = <Command, Event extends DomainEvent, State, Error = DomainError>(
  eventLog: EventLog,
  stream: string,
  decider: Decider<Command, Event, State, Error>,
  command: Command,
  context: CommandContext,
  options: HandleCommandOptions<Event> = {},
): Promise<Either<Error | PreconditionFailed | Contended, CommandResult<Event, State>>> => {
  let queue = turns.get(eventLog);
  if (!queue) turns.set(eventLog, (queue = new KeyedQueue()));
  return queue.run(stream, () => decideAndAppend(eventLog, stream, decider, command, context, options));
};

const decideAndAppend = async <Command, Event extends DomainEvent, State, Error>(
  eventLog: EventLog,
  stream: string,
  decider: Decider<Command, Event, State, Error>,
  command: Command,
  context: CommandContext,
  options: HandleCommandOptions<Event>,
): Promise<Either<Error | PreconditionFailed | Contended, CommandResult<Event, State>>> => {
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
  let state = decider.initialState();
  let revision = -1;
  let position: number | null = null;
  for (let attempt = 1; ; attempt++) {
    const read = await eventLog.readStream<Event>(stream, revision < 0 ? {} : { fromRevision: revision + 1 });
    for (const stored of read) {
      state = decider.evolve(state, stored.event);
      revision = stored.revision;
      position = stored.position;
    }
    if (options.expectedRevision !== undefined && options.expectedRevision !== revision) {
      return E.left(preconditionFailed(stream, options.expectedRevision, revision));
    }
    const decision = decider.decide(command, state);
    if (E.isLeft(decision)) return decision;
    const events = decision.right;
    if (events.length === 0) return E.right({ events: [], state, revision, position });

    const eventIds = idsFor(events, options.eventIds);
    try {
      const appended = await eventLog.append(stream, events, {
        expectedRevision: revision < 0 ? 'no_stream' : revision,
        context,
        eventIds,
      });
      const firstRevision = appended.nextExpectedRevision - events.length + 1;
      return E.right({
        events: events.map((event, index) => ({
          id: eventIds[index]!,
          stream,
          revision: firstRevision + index,
          event,
        })),
        state: events.reduce(decider.evolve, state),
        revision: appended.nextExpectedRevision,
        position: appended.position,
      });
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      if (options.expectedRevision !== undefined)
        return E.left(preconditionFailed(stream, options.expectedRevision, error.actual));
      if (attempt > maxRetries) return E.left({ kind: 'contended', stream, attempts: attempt });
    }
  }
};

const preconditionFailed = (stream: string, expectedRevision: number, actualRevision: number): PreconditionFailed => ({
  kind: 'precondition_failed',
  stream,
  expectedRevision,
  actualRevision,
});

const idsFor = <Event extends DomainEvent>(
  events: readonly Event[],
  given: HandleCommandOptions<Event>['eventIds'],
): readonly string[] => {
  const ids = typeof given === 'function' ? given(events) : (given ?? events.map(() => randomUUID()));
  if (ids.length !== events.length)
    throw new Error(`${events.length} events were decided but ${ids.length} event ids given`);
  return ids;
};
