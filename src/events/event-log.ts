import { randomUUID } from 'node:crypto';
import {
  WrongExpectedRevisionError,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeToAllOptions,
  type SubscribeToStreamOptions,
  type Subscription,
} from '../eventstore/port.js';
import type { DomainEvent } from './domain-event.js';
import { GENESIS_HASH, chainHash } from './hash-chain.js';
import { KeyedQueue } from './keyed-queue.js';
import type { CommandContext, EventMetadata } from './metadata.js';
import type { EventRegistry } from './registry.js';
import { decodeRecordedEvent, type StoredEvent } from './stored-event.js';

export interface AppendOptions {
  readonly expectedRevision: ExpectedRevision;
  readonly context: CommandContext;
  /** Deterministic ids make a retried append a no-op; random UUIDs otherwise. */
  readonly eventIds?: readonly string[];
}

export interface TypedSubscription<Event extends DomainEvent = DomainEvent> extends AsyncIterable<StoredEvent<Event>> {
  stop(): Promise<void>;
}

/** How many times an `any`/`stream_exists` append re-reads the stream head after losing a race. */
const MAX_HEAD_RACES = 20;

/**
 * The typed face of the event store and the only code that appends: every event passes its
 * codec, gets its metadata, and is chained by hash to the previous event of its stream.
 * Chaining needs the head's hash, so appends always reach the store with an explicit revision;
 * `any` and `stream_exists` re-read the head when another writer got there first.
 */
export class EventLog {
  /** `any`/`stream_exists` appends from this process take turns per stream, so they never race each other. */
  private readonly headAppends = new KeyedQueue();

  constructor(
    readonly store: EventStore,
    readonly registry: EventRegistry,
  ) {}

  async append(stream: string, events: readonly DomainEvent[], options: AppendOptions): Promise<AppendResult> {
    if (options.eventIds && options.eventIds.length !== events.length) {
      throw new Error(`append to ${stream}: ${events.length} events but ${options.eventIds.length} ids`);
    }
    const eventIds = options.eventIds ?? events.map(() => randomUUID());
    const encoded = events.map((event) => ({ type: event.type, data: this.registry.encode(event.type, event.data) }));
    const { expectedRevision } = options;
    if (typeof expectedRevision === 'number' || expectedRevision === 'no_stream') {
      const previousHash = await this.hashAt(stream, expectedRevision);
      return this.store.appendToStream(
        stream,
        this.chain(stream, expectedRevision, previousHash, encoded, eventIds, options.context),
        {
          expectedRevision,
        },
      );
    }
    return this.headAppends.run(stream, () =>
      this.appendAtHead(stream, expectedRevision, encoded, eventIds, options.context),
    );
  }

  private async appendAtHead(
    stream: string,
    expectedRevision: 'any' | 'stream_exists',
    encoded: readonly { type: string; data: EventToAppend['data'] }[],
    eventIds: readonly string[],
    context: CommandContext,
  ): Promise<AppendResult> {
    for (let attempt = 1; ; attempt++) {
      const [head] = await this.store.readStream(stream, { direction: 'backwards', maxCount: 1 });
      if (!head && expectedRevision === 'stream_exists')
        throw new WrongExpectedRevisionError(stream, expectedRevision, -1);
      const revision: number | 'no_stream' = head ? head.revision : 'no_stream';
      const previousHash = head ? hashOf(head) : GENESIS_HASH;
      try {
        return await this.store.appendToStream(
          stream,
          this.chain(stream, revision, previousHash, encoded, eventIds, context),
          {
            expectedRevision: revision,
          },
        );
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_HEAD_RACES) throw error;
      }
    }
  }

  async readStream<Event extends DomainEvent = DomainEvent>(
    stream: string,
    options?: ReadStreamOptions,
  ): Promise<StoredEvent<Event>[]> {
    const recorded = await this.store.readStream(stream, options);
    return recorded.map((event) => this.decode(event) as StoredEvent<Event>);
  }

  async readAll(options?: ReadAllOptions): Promise<StoredEvent[]> {
    const recorded = await this.store.readAll(options);
    return recorded.map((event) => this.decode(event));
  }

  /**
   * Decodes each recorded event once: the embedded store hands out the same object for a recent
   * event to every reader, and a command folds its aggregate's whole stream each time, so a
   * deployment's twenty commands would otherwise check each of its events twenty times.
   */
  private decode(event: RecordedEvent): StoredEvent {
    let stored = this.decoded.get(event);
    if (!stored) this.decoded.set(event, (stored = decodeRecordedEvent(this.registry, event)));
    return stored;
  }

  subscribeToStream<Event extends DomainEvent = DomainEvent>(
    stream: string,
    options?: SubscribeToStreamOptions,
  ): TypedSubscription<Event> {
    return this.decoding<Event>(this.store.subscribeToStream(stream, options));
  }

  subscribeToAll(options?: SubscribeToAllOptions): TypedSubscription {
    return this.decoding(this.store.subscribeToAll(options));
  }

  /**
   * Subscribers share decoded events: the store hands every live subscriber the same recorded
   * event, so a stream with a thousand SSE clients decodes each event once. Stored events are
   * never changed after decoding, so sharing them is safe.
   */
  private readonly decoded = new WeakMap<RecordedEvent, StoredEvent>();

  private decoding<Event extends DomainEvent>(subscription: Subscription): TypedSubscription<Event> {
    const decode = (event: RecordedEvent) => this.decode(event);
    return {
      stop: () => subscription.stop(),
      // A plain iterator, not an async generator: one hop less per event for each of many subscribers.
      [Symbol.asyncIterator]: () => {
        const source = subscription[Symbol.asyncIterator]();
        return {
          next: async (): Promise<IteratorResult<StoredEvent<Event>>> => {
            const result = await source.next();
            if (result.done) return { done: true, value: undefined };
            return { done: false, value: decode(result.value) as StoredEvent<Event> };
          },
          return: async (): Promise<IteratorResult<StoredEvent<Event>>> => {
            await source.return?.();
            return { done: true, value: undefined };
          },
        };
      },
    };
  }

  private async hashAt(stream: string, revision: number | 'no_stream'): Promise<string> {
    if (revision === 'no_stream') return GENESIS_HASH;
    const [event] = await this.store.readStream(stream, { fromRevision: revision, maxCount: 1 });
    if (!event || event.revision !== revision) {
      const [head] = await this.store.readStream(stream, { direction: 'backwards', maxCount: 1 });
      throw new WrongExpectedRevisionError(stream, revision, head ? head.revision : -1);
    }
    return hashOf(event);
  }

  private chain(
    stream: string,
    afterRevision: number | 'no_stream',
    previousHash: string,
    events: readonly { type: string; data: EventToAppend['data'] }[],
    eventIds: readonly string[],
    context: CommandContext,
  ): EventToAppend[] {
    let hash = previousHash;
    let revision = afterRevision === 'no_stream' ? 0 : afterRevision + 1;
    return events.map(({ type, data }, index) => {
      const id = eventIds[index]!;
      const base = {
        actor: context.actor,
        correlation_id: context.correlationId,
        causation_id: context.causationId,
        recorded_at: context.now.toISOString(),
      };
      hash = chainHash(hash, { id, stream, revision: revision++, type, data, ...base });
      const metadata: EventMetadata = { ...base, hash };
      return { id, type, data, metadata };
    });
  }
}

const hashOf = (event: RecordedEvent): string => {
  const hash = event.metadata['hash'];
  if (typeof hash !== 'string') throw new Error(`event ${event.stream}@${event.revision} carries no hash`);
  return hash;
};
