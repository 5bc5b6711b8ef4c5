import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  START,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type ResolvedEvent,
} from '@eventstore/db-client';
import {
  EventStoreClosedError,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type JsonObject,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeToAllOptions,
  type SubscribeToStreamOptions,
  type Subscription,
} from '../port.js';
import { isStreamNotFound, isSystem, isUnavailable, toClientRevision, toPortError } from './mapping.js';
import { EventStoreUnavailableError } from '../port.js';

/**
 * The production adapter over @eventstore/db-client. Positions: the port's `position` is the
 * event's commit position in `$all` (a byte offset in the transaction file, well inside 2^53).
 * Resuming after a position subscribes from `{ commit: p, prepare: p }` and drops any event at
 * or before `p` on the client, so an event is never delivered twice at the seam.
 */
export const openEventStoreDb = async (connectionString: string): Promise<EventStore> => {
  const client = EventStoreDBClient.connectionString(connectionString);
  return new EventStoreDbStore(client);
};

class EventStoreDbStore implements EventStore {
  private closed = false;
  private readonly subscriptions = new Set<Subscription>();

  constructor(private readonly client: EventStoreDBClient) {}

  async appendToStream(
    stream: string,
    events: readonly EventToAppend[],
    options: { expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    this.assertOpen();
    const expected = options.expectedRevision ?? 'any';
    try {
      const result = await this.client.appendToStream(
        stream,
        events.map((event) =>
          jsonEvent({ id: event.id, type: event.type, data: event.data, metadata: event.metadata }),
        ),
        { expectedRevision: toClientRevision(expected) },
      );
      return {
        nextExpectedRevision: Number(result.nextExpectedRevision),
        position: Number(result.position?.commit ?? -1n),
      };
    } catch (error) {
      throw toPortError(error, stream, expected);
    }
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const backwards = options.direction === 'backwards';
    try {
      const events: RecordedEvent[] = [];
      for await (const resolved of this.client.readStream(stream, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: options.fromRevision === undefined ? (backwards ? END : START) : BigInt(options.fromRevision),
        ...(options.maxCount === undefined ? {} : { maxCount: options.maxCount }),
      })) {
        const event = toRecorded(resolved);
        if (event) events.push(event);
      }
      return events;
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw this.mapped(error);
    }
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const backwards = options.direction === 'backwards';
    const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const from = options.fromPosition;
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readAll({
        direction: backwards ? BACKWARDS : FORWARDS,
        fromPosition: from === undefined ? (backwards ? END : START) : { commit: BigInt(from), prepare: BigInt(from) },
      })) {
        const event = toRecorded(resolved);
        if (!event || (from !== undefined && (backwards ? event.position > from : event.position < from))) continue;
        events.push(event);
        if (events.length >= maxCount) break;
      }
      return events;
    } catch (error) {
      throw this.mapped(error);
    }
  }

  subscribeToStream(stream: string, options: SubscribeToStreamOptions = {}): Subscription {
    this.assertOpen();
    const after = options.afterRevision;
    const source = this.client.subscribeToStream(stream, { fromRevision: after === undefined ? START : BigInt(after) });
    return this.track(source, (event) => after === undefined || event.revision > after);
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    this.assertOpen();
    const after = options.afterPosition;
    const source = this.client.subscribeToAll({
      fromPosition: after === undefined ? START : { commit: BigInt(after), prepare: BigInt(after) },
      filter: excludeSystemEvents(),
    });
    return this.track(source, (event) => after === undefined || event.position > after);
  }

  /** The client reconnects by itself; nothing here needs a restart of the process. */
  fatalError(): Error | undefined {
    return undefined;
  }

  async checkHealth(): Promise<void> {
    this.assertOpen();
    try {
      for await (const _ of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) break;
    } catch (error) {
      throw this.mapped(error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await this.client.dispose();
  }

  private track(
    source: AsyncIterable<ResolvedEvent | AllStreamResolvedEvent> & { unsubscribe(): Promise<void> },
    keep: (event: RecordedEvent) => boolean,
  ): Subscription {
    let stopped = false;
    const subscriptions = this.subscriptions;
    const subscription: Subscription = {
      stop: async () => {
        if (stopped) return;
        stopped = true;
        subscriptions.delete(subscription);
        await source.unsubscribe();
      },
      async *[Symbol.asyncIterator]() {
        try {
          for await (const resolved of source) {
            if (stopped) return;
            const event = toRecorded(resolved);
            if (event && keep(event)) yield event;
          }
        } catch (error) {
          if (!stopped)
            throw isUnavailable(error) ? new EventStoreUnavailableError(String(error), { cause: error }) : error;
        }
      },
    };
    subscriptions.add(subscription);
    return subscription;
  }

  private mapped(error: unknown): unknown {
    return isUnavailable(error)
      ? new EventStoreUnavailableError(`EventStoreDB is unavailable: ${(error as Error).message}`, { cause: error })
      : error;
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreClosedError();
  }
}

const toRecorded = (resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined => {
  const event = resolved.event;
  if (!event || !event.isJson || isSystem(event.streamId, event.type)) return undefined;
  return {
    id: event.id,
    stream: event.streamId,
    revision: Number(event.revision),
    position: Number(event.position?.commit ?? resolved.commitPosition ?? -1n),
    type: event.type,
    data: event.data as JsonObject,
    metadata: (event.metadata ?? {}) as JsonObject,
  };
};
