/**
 * The event store port. Both adapters (embedded log, EventStoreDB) implement it and pass
 * the one contract suite in test/eventstore/contract.ts. Semantics follow EventStoreDB.
 *
 * Data and metadata are plain JSON values at this level; typed events, codecs and the
 * hash chain live one layer up (src/events), which is the only code allowed to append.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** `any` never fails, `no_stream` requires the stream to be absent, `stream_exists` present, a number the last revision. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface EventToAppend {
  /** A UUID chosen by the caller; a retried append with the same ids at the same explicit revision is a no-op. */
  readonly id: string;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
}

export interface RecordedEvent {
  readonly id: string;
  readonly stream: string;
  /** 0-based position of the event in its stream. */
  readonly revision: number;
  /** Strictly increasing position in `$all`. Opaque beyond its ordering; safe integer. */
  readonly position: number;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
}

export interface AppendResult {
  /** Revision of the last event now in the stream. */
  readonly nextExpectedRevision: number;
  /** `$all` position of the last event appended. */
  readonly position: number;
}

type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  readonly direction?: Direction;
  /** Inclusive; default the first event (forwards) or the last (backwards). */
  readonly fromRevision?: number;
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  readonly direction?: Direction;
  /** Inclusive; default the first event (forwards) or the last (backwards). */
  readonly fromPosition?: number;
  readonly maxCount?: number;
}

export interface SubscribeToStreamOptions {
  /** Exclusive: the subscription delivers events after this revision. Omit to start at the beginning. */
  readonly afterRevision?: number;
}

export interface SubscribeToAllOptions {
  /** Exclusive: the subscription delivers events after this position. Omit to start at the beginning. */
  readonly afterPosition?: number;
}

/**
 * Catches up from the given point, then continues live with no gap and no duplicate at the
 * seam. Iterate it with `for await`; `stop()` ends the iteration cleanly (the loop exits).
 * An adapter failure ends the iteration by throwing.
 */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  stop(): Promise<void>;
}

export interface EventStore {
  appendToStream(
    stream: string,
    events: readonly EventToAppend[],
    options?: { readonly expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult>;
  /** A stream that does not exist reads as an empty list. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeToStream(stream: string, options?: SubscribeToStreamOptions): Subscription;
  subscribeToAll(options?: SubscribeToAllOptions): Subscription;
  /** Resolves when the store can serve reads and appends; rejects with the reason otherwise (readiness). */
  checkHealth(): Promise<void>;
  /**
   * Why the store cannot go on without a restart of the process, or undefined (liveness; no I/O).
   * A failure the store recovers from by itself (a full disk that gets space back) is not one.
   */
  fatalError(): Error | undefined;
  /** Ends every subscription and releases the store (file lock, connection). */
  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  override readonly name = 'WrongExpectedRevisionError';
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    /** The stream's last revision, or -1 when the stream does not exist. */
    readonly actual: number,
  ) {
    super(`stream ${stream}: expected revision ${String(expected)}, actual ${actual < 0 ? 'no stream' : actual}`);
  }
}

/** The store cannot be reached or has failed; the API maps it to 503. */
export class EventStoreUnavailableError extends Error {
  override readonly name = 'EventStoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Operation on a store after `close()`. */
export class EventStoreClosedError extends Error {
  override readonly name = 'EventStoreClosedError';
  constructor() {
    super('the event store is closed');
  }
}

/** The embedded log refuses to open a damaged file: names the file and the byte offset. */
export class EventLogCorruptedError extends Error {
  override readonly name = 'EventLogCorruptedError';
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`event log ${file} is corrupted at byte offset ${offset}: ${reason}`);
  }
}

/** Another process holds the embedded store's data folder. */
export class EventStoreLockedError extends Error {
  override readonly name = 'EventStoreLockedError';
  constructor(
    readonly folder: string,
    detail: string,
  ) {
    super(`event store folder ${folder} is locked by another process (${detail})`);
  }
}
