import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EventLogCorruptedError,
  EventStoreClosedError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
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
import { checkFrame, decodeBodyAt, encodeFrame, findValidFrameAfter } from './frame.js';
import { IntList } from './growable.js';
import { lockFolder, type FolderLock } from './lock.js';
import { openLogFile, writeFully, type LogFile, type OpenLogFile } from './log-file.js';
import { AcknowledgedRecordsLostError, probeWritable, restoreLog } from './recovery.js';
import { PagedSubscription } from './subscription.js';

export interface EmbeddedEventStoreOptions {
  readonly dataDir: string;
  /** Observes each group commit (events written in one durable write); used by tests and metrics. */
  readonly onCommit?: (events: number) => void;
  /** Opens the log file (and the write probe): the real file unless a test injects faults. */
  readonly openFile?: OpenLogFile;
  /** While writes fail, how often the store tries to recover on its own (default 1000 ms). */
  readonly recoveryIntervalMs?: number;
  /** How long the log may stay unrestorable before only a restart can help (default 60 s). */
  readonly restartAfterMs?: number;
  /** Observes each write failure and each recovery (the gateway logs them). */
  readonly onWriteState?: (change: {
    readonly status: 'failing' | 'recovered' | 'lost';
    readonly error?: Error;
  }) => void;
  readonly clock?: () => number;
  /**
   * Whether a lone append (nothing else queued) is written on the event loop's thread rather than
   * through the thread pool (default true). It saves the pool's round trip, most of a lone
   * append's cost beyond the disk's own sync, and blocks the loop for that sync; after a write
   * slower than `inlineSlowMs` every write goes through the pool for `INLINE_PAUSE_MS`.
   */
  readonly inlineLoneAppends?: boolean;
  /** An inline write slower than this (a slow or stalling disk) sends writes to the pool for a while (default 2 ms). */
  readonly inlineSlowMs?: number;
  /**
   * Zeros written ahead of the log's end, so that an append overwrites blocks the file already
   * has rather than growing it (default 1 MiB; 0: never). Growing a file makes every durable
   * write commit the file system's journal too (its size changed); overwriting does not, which
   * is how SQLite's reused WAL and EventStoreDB's preallocated chunks sync faster. A clean close
   * cuts the zeros; after a crash, opening cuts them as it cuts a torn tail.
   */
  readonly preallocateBytes?: number;
}

export const LOG_FILE = 'events.log';
/** Written and removed to learn whether the file system takes writes again. */
export const WRITE_PROBE_FILE = 'write-probe';
/** Bytes scanned per read while opening; a record may straddle two chunks. */
const SCAN_CHUNK_BYTES = 16 * 1024 * 1024;
/** Events held decoded after their commit, so live subscribers rarely touch the disk. */
const RECENT_EVENTS = 4096;
/** Largest single read when paging through the log. */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
const SUBSCRIPTION_PAGE = 512;
/** Idle read buffers kept for reuse (one per concurrent read, at most this many). */
const MAX_READ_BUFFERS = 8;
/** The write probe is as large as the write that failed, up to this. */
const MAX_PROBE_BYTES = 1024 * 1024;
/** After a slow inline write, how long writes go through the thread pool before one is tried inline again. */
export const INLINE_PAUSE_MS = 10_000;
const DEFAULT_PREALLOCATE_BYTES = 1024 * 1024;
/** After zeros could not be written ahead (a full disk), how long before trying again. */
const PREALLOCATE_PAUSE_MS = 10_000;

interface PendingAppend {
  readonly stream: string;
  readonly events: readonly EventToAppend[];
  readonly expected: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Whether the log takes writes. `failing`: a write failed (a full disk, an I/O error); nothing of
 * it was acknowledged, and once `restored` the file again ends exactly after the last acknowledged
 * record, so the next write may be tried. `lost`: acknowledged records are no longer in the file;
 * nothing but a person can mend that.
 */
type WriteState =
  | { readonly status: 'writable' }
  | {
      readonly status: 'failing';
      readonly error: Error;
      readonly since: number;
      readonly bytes: number;
      restored: boolean;
      restoreError?: Error;
    }
  | { readonly status: 'lost'; readonly error: Error };

/**
 * The default event store: one append-only file of length+CRC framed records in the data
 * folder, owned by one process (flock). Appends are acknowledged once every byte is written and
 * durable (O_DSYNC); appends that arrive while a sync is in flight are written and synced
 * together (group commit). The index (position -> offset, stream -> positions) lives in memory
 * and is rebuilt at open from the stream names in the record headers, without parsing JSON.
 *
 * A failed write is never acknowledged and never left in the file: the file is cut back to the
 * last acknowledged record before the appends are refused, so neither a reader nor a later
 * reopen can see it. The store then recovers on its own (on the next append, and on a timer
 * that probes the file system), without a restart.
 */
export const openEmbeddedEventStore = async (options: EmbeddedEventStoreOptions): Promise<EventStore> => {
  mkdirSync(options.dataDir, { recursive: true });
  const lock = lockFolder(options.dataDir);
  try {
    const path = join(options.dataDir, LOG_FILE);
    const openFile = options.openFile ?? openLogFile;
    const file = await openFile(path);
    try {
      const index = await rebuildIndex(file, path);
      await rm(join(options.dataDir, WRITE_PROBE_FILE), { force: true });
      return new EmbeddedEventStore(file, lock, index, { ...options, openFile, path });
    } catch (error) {
      await file.close();
      throw error;
    }
  } catch (error) {
    lock.release();
    throw error;
  }
};

interface LogIndex {
  readonly offsets: IntList;
  readonly lengths: IntList;
  readonly revisions: IntList;
  readonly streams: Map<string, IntList>;
  /** Stream of each position, as an index into `streamNames`: reads never decode stream names. */
  readonly streamIds: IntList;
  readonly streamNames: string[];
  readonly streamIdOf: Map<string, number>;
  size: number;
}

const rebuildIndex = async (file: LogFile, path: string): Promise<LogIndex> => {
  const index: LogIndex = {
    offsets: new IntList(),
    lengths: new IntList(),
    revisions: new IntList(),
    streams: new Map(),
    streamIds: new IntList(),
    streamNames: [],
    streamIdOf: new Map(),
    size: 0,
  };
  const fileSize = (await file.stat()).size;
  let chunkStart = 0;
  let carry = Buffer.alloc(0);
  while (chunkStart + carry.length < fileSize) {
    const readAt = chunkStart + carry.length;
    const fresh = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, fileSize - readAt));
    const { bytesRead } = await file.read(fresh, 0, fresh.length, readAt);
    const buffer =
      carry.length > 0 ? Buffer.concat([carry, fresh.subarray(0, bytesRead)]) : fresh.subarray(0, bytesRead);
    const atEnd = chunkStart + buffer.length >= fileSize;
    let offset = 0;
    while (offset < buffer.length) {
      const frame = checkFrame(buffer, offset);
      if (!frame.ok) {
        if (!atEnd && buffer.length - offset < SCAN_CHUNK_BYTES && frame.reason !== 'checksum mismatch') break; // straddles chunks
        await cutTornTail(file, path, chunkStart + offset, frame.reason, fileSize);
        index.size = chunkStart + offset;
        return index;
      }
      addToIndex(index, frame.stream, chunkStart + offset, frame.length);
      offset += frame.length;
    }
    carry = buffer.subarray(offset);
    chunkStart += offset;
  }
  index.size = fileSize;
  return index;
};

/**
 * A damaged record with no valid record after it is a write the crash interrupted (or junk
 * after it): never acknowledged, so it is cut off. A damaged record followed by valid ones is
 * corruption of acknowledged history: refuse to open and name the offset.
 */
const cutTornTail = async (
  file: LogFile,
  path: string,
  offset: number,
  reason: string,
  fileSize: number,
): Promise<void> => {
  const rest = Buffer.allocUnsafe(fileSize - offset);
  await file.read(rest, 0, rest.length, offset);
  const next = findValidFrameAfter(rest, 0);
  if (next !== undefined) {
    throw new EventLogCorruptedError(path, offset, `${reason}; a valid record follows at offset ${offset + next}`);
  }
  await file.truncate(offset);
  await file.datasync();
};

const addToIndex = (index: LogIndex, stream: string, offset: number, length: number): void => {
  let positions = index.streams.get(stream);
  if (!positions) {
    positions = new IntList(4);
    index.streams.set(stream, positions);
    index.streamIdOf.set(stream, index.streamNames.length);
    index.streamNames.push(stream);
  }
  index.streamIds.push(index.streamIdOf.get(stream)!);
  index.revisions.push(positions.length);
  positions.push(index.offsets.length);
  index.offsets.push(offset);
  index.lengths.push(length);
};

interface StoreSettings extends EmbeddedEventStoreOptions {
  readonly openFile: OpenLogFile;
  readonly path: string;
}

class EmbeddedEventStore implements EventStore {
  private queue: PendingAppend[] = [];
  /** The one writer at a time: a flush of the queue, or a recovery attempt followed by one. */
  private writing: Promise<void> | undefined;
  private closed = false;
  private state: WriteState = { status: 'writable' };
  private recoveryTimer: NodeJS.Timeout | undefined;
  private commits = 0;
  private commitSignal: { promise: Promise<void>; resolve: () => void } | undefined;
  private readonly recent: (RecordedEvent | undefined)[] = new Array<RecordedEvent | undefined>(RECENT_EVENTS);
  private readonly subscriptions = new Set<Subscription>();
  /** The id of each stream's last event, for the cheap retry test of `any` appends. */
  private readonly lastIds = new Map<string, string>();
  private readonly readBuffers: Buffer[] = [];
  private prefetched: { start: number; bytes: number; read: Promise<Buffer> } | undefined;
  private readonly clock: () => number;
  /** Until when lone appends go through the thread pool, after a slow inline write. */
  private inlinePausedUntil = 0;
  /** Where the zeros written ahead of the log's end stop (the file's size, as far as the store knows). */
  private allocatedEnd: number;
  private preallocatePausedUntil = 0;

  constructor(
    private file: LogFile,
    private readonly lock: FolderLock,
    private readonly index: LogIndex,
    private readonly settings: StoreSettings,
  ) {
    this.clock = settings.clock ?? Date.now;
    this.allocatedEnd = index.size;
  }

  // Not async: an extra promise around the queued one costs measurable throughput at 64 writers.
  appendToStream(
    stream: string,
    events: readonly EventToAppend[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new EventStoreClosedError());
    if (this.state.status === 'lost') return Promise.reject(this.unavailable());
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ stream, events, expected: options?.expectedRevision ?? 'any', resolve, reject });
      this.writing ??= this.write();
    });
  }

  /** Drains the queue, batch after batch; `first` runs before (a recovery attempt). */
  private async write(first?: () => Promise<void>): Promise<void> {
    try {
      if (first) await first().catch(() => undefined);
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.commitBatch(batch);
        await this.preallocate();
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async commitBatch(batch: PendingAppend[]): Promise<void> {
    if (this.state.status === 'failing' && !this.state.restored) await this.restore();
    if (this.closed || this.state.status === 'lost' || (this.state.status === 'failing' && !this.state.restored)) {
      for (const pending of batch) pending.reject(this.closed ? new EventStoreClosedError() : this.unavailable());
      return;
    }
    const frames: Buffer[] = [];
    const accepted: { pending: PendingAppend; firstFrame: number }[] = [];
    const written: { stream: string; event: EventToAppend }[] = [];
    // Refusals wait for the batch's sync: a loser that re-reads the head must see the winner.
    const refused: { pending: PendingAppend; error: unknown }[] = [];
    // Revisions of streams as they will stand after the earlier appends of this batch.
    const heads = new Map<string, number>();
    const headOf = (stream: string): number => heads.get(stream) ?? this.lastRevision(stream);
    for (const pending of batch) {
      try {
        const head = headOf(pending.stream);
        const replay = this.mayBeRetry(pending) ? await this.originalResult(pending, head) : undefined;
        if (replay) {
          pending.resolve(replay);
          continue;
        }
        if (!satisfies(pending.expected, head))
          throw new WrongExpectedRevisionError(pending.stream, pending.expected, head);
        if (pending.events.length === 0) {
          pending.resolve({ nextExpectedRevision: head, position: this.lastPositionOf(pending.stream) });
          continue;
        }
        const encoded = pending.events.map((event) => encodeFrame(pending.stream, event));
        accepted.push({ pending, firstFrame: frames.length });
        frames.push(...encoded);
        for (const event of pending.events) written.push({ stream: pending.stream, event });
        heads.set(pending.stream, head + pending.events.length);
      } catch (error) {
        refused.push({ pending, error });
      }
    }
    try {
      if (frames.length > 0)
        await this.writeDurably(frames, accepted, written, batch.length === 1 && this.mayWriteInline());
    } finally {
      for (const { pending, error } of refused) pending.reject(error);
    }
  }

  private async writeDurably(
    frames: Buffer[],
    accepted: { pending: PendingAppend; firstFrame: number }[],
    written: { stream: string; event: EventToAppend }[],
    inline: boolean,
  ): Promise<void> {
    const started = inline ? performance.now() : 0;
    try {
      await writeFully(this.file, frames, this.index.size, inline);
      if (inline && performance.now() - started > (this.settings.inlineSlowMs ?? 2))
        this.inlinePausedUntil = this.clock() + INLINE_PAUSE_MS;
    } catch (error) {
      // Part of the batch may be in the file, even durable: cut it before refusing, so that
      // nothing refused is ever read, here or after a reopen.
      this.fail(
        error as Error,
        frames.reduce((sum, frame) => sum + frame.length, 0),
      );
      await this.restore();
      for (const { pending } of accepted) pending.reject(this.unavailable());
      return;
    }
    if (this.state.status === 'failing') this.recovered();
    const firstPosition = this.index.offsets.length;
    let offset = this.index.size;
    frames.forEach((frame, i) => {
      const { stream, event } = written[i]!;
      addToIndex(this.index, stream, offset, frame.length);
      this.lastIds.set(stream, event.id);
      offset += frame.length;
      const position = firstPosition + i;
      this.recent[position % RECENT_EVENTS] = {
        id: event.id,
        stream,
        revision: this.index.revisions.at(position),
        position,
        type: event.type,
        data: event.data,
        metadata: event.metadata,
      };
    });
    this.index.size = offset;
    for (const { pending, firstFrame } of accepted) {
      const lastPosition = firstPosition + firstFrame + pending.events.length - 1;
      pending.resolve({ nextExpectedRevision: this.index.revisions.at(lastPosition), position: lastPosition });
    }
    this.commits++;
    this.settings.onCommit?.(frames.length);
    this.signalCommit();
  }

  /**
   * Writes zeros ahead of the end once less than half of them is left, between batches (never
   * beside a write). Failing to is no fault of the log: appends go on growing the file.
   */
  private async preallocate(): Promise<void> {
    const bytes = this.settings.preallocateBytes ?? DEFAULT_PREALLOCATE_BYTES;
    if (bytes <= 0 || this.state.status !== 'writable' || this.closed || this.clock() < this.preallocatePausedUntil)
      return;
    const end = Math.max(this.allocatedEnd, this.index.size);
    if (end - this.index.size >= bytes / 2) return;
    try {
      await writeFully(this.file, [Buffer.alloc(bytes)], end);
      this.allocatedEnd = end + bytes;
    } catch {
      // Some zeros may have landed; the next appends overwrite them or a cut removes them.
      this.allocatedEnd = this.index.size;
      this.preallocatePausedUntil = this.clock() + PREALLOCATE_PAUSE_MS;
    }
  }

  private mayWriteInline(): boolean {
    return (
      this.settings.inlineLoneAppends !== false &&
      this.state.status === 'writable' &&
      this.clock() >= this.inlinePausedUntil
    );
  }

  private fail(error: Error, bytes: number): void {
    const wasFailing = this.state.status === 'failing';
    const since = this.state.status === 'failing' ? this.state.since : this.clock();
    this.state = { status: 'failing', error, since, bytes, restored: false };
    if (!wasFailing) this.settings.onWriteState?.({ status: 'failing', error });
    this.recoveryTimer ??= setInterval(() => this.tick(), this.settings.recoveryIntervalMs ?? 1000);
    this.recoveryTimer.unref();
  }

  private recovered(): void {
    this.state = { status: 'writable' };
    clearInterval(this.recoveryTimer);
    this.recoveryTimer = undefined;
    this.settings.onWriteState?.({ status: 'recovered' });
  }

  /** Cuts what the failed write left, on a new descriptor; finding acknowledged records gone stops the store for good. */
  private async restore(): Promise<void> {
    const state = this.state;
    if (state.status !== 'failing' || state.restored) return;
    const last = this.index.offsets.length - 1;
    let file: LogFile;
    try {
      file = await restoreLog(this.settings.openFile, this.settings.path, {
        size: this.index.size,
        lastOffset: last < 0 ? -1 : this.index.offsets.at(last),
        lastLength: last < 0 ? 0 : this.index.lengths.at(last),
      });
    } catch (error) {
      state.restoreError = error as Error;
      if (error instanceof AcknowledgedRecordsLostError) this.lose(error);
      return;
    }
    const old = this.file;
    this.file = file;
    this.allocatedEnd = this.index.size;
    state.restored = true;
    // Pending reads on the old descriptor finish first: FileHandle.close waits for them.
    await old.close().catch(() => undefined);
  }

  private lose(error: Error): void {
    this.state = { status: 'lost', error };
    clearInterval(this.recoveryTimer);
    this.recoveryTimer = undefined;
    this.settings.onWriteState?.({ status: 'lost', error });
    this.signalCommit();
  }

  /**
   * While writes fail: restore the file if that is still owed, then learn whether the file system
   * takes writes again by writing a probe as large as the failed write (so a full disk that got
   * space back reads as ready again without waiting for the next append).
   */
  private tick(): void {
    if (this.writing || this.closed || this.state.status !== 'failing') return;
    this.writing = this.write(async () => {
      await this.restore();
      const state = this.state;
      if (state.status !== 'failing' || !state.restored) return;
      if (
        await probeWritable(
          this.settings.openFile,
          join(this.settings.dataDir, WRITE_PROBE_FILE),
          Math.min(state.bytes, MAX_PROBE_BYTES),
        )
      )
        this.recovered();
    });
  }

  /**
   * EventStoreDB's idempotence: an append whose event ids already follow the expected revision
   * (or, for `any`, end the stream) is a retry of one that succeeded; answer as it was answered.
   */
  /** Cheap test first: most appends cannot be retries, and the full check reads the log. */
  private mayBeRetry({ events, expected, stream }: PendingAppend): boolean {
    const last = events[events.length - 1];
    if (!last || expected === 'stream_exists') return false;
    if (expected === 'any') return this.lastIds.get(stream) === last.id;
    return (expected === 'no_stream' ? -1 : expected) < this.lastRevision(stream);
  }

  private async originalResult(pending: PendingAppend, head: number): Promise<AppendResult | undefined> {
    const { events, expected, stream } = pending;
    if (events.length === 0 || expected === 'stream_exists') return undefined;
    const after = expected === 'no_stream' ? -1 : expected === 'any' ? head - events.length : expected;
    if (after < -1 || after + events.length > this.lastRevision(stream)) return undefined;
    if (expected === 'any' && after + events.length !== head) return undefined;
    const positions = this.index.streams.get(stream)!;
    const existing = await this.readPositions(
      range(after + 1, after + events.length).map((revision) => positions.at(revision)),
    );
    if (!existing.every((event, i) => event.id === events[i]!.id)) return undefined;
    const last = existing[existing.length - 1]!;
    return { nextExpectedRevision: last.revision, position: last.position };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertUsable();
    const positions = this.index.streams.get(stream);
    if (!positions) return [];
    const revisions = pick(positions.length, options.direction ?? 'forwards', options.fromRevision, options.maxCount);
    return this.readPositions(revisions.map((revision) => positions.at(revision)));
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertUsable();
    const direction = options.direction ?? 'forwards';
    const positions = pick(this.index.offsets.length, direction, options.fromPosition, options.maxCount);
    const events = this.readPositions(positions);
    // A forward page is usually followed by the next one (a replay): read it while this one decodes.
    const last = positions[positions.length - 1];
    if (direction === 'forwards' && last !== undefined && positions.length > 1)
      this.readAhead(last + 1, positions.length);
    return events;
  }

  private readAhead(from: number, count: number): void {
    const to = Math.min(this.index.offsets.length, from + count) - 1;
    if (to < from) return;
    const start = this.index.offsets.at(from);
    const bytes = Math.min(this.index.offsets.at(to) + this.index.lengths.at(to) - start, READ_CHUNK_BYTES);
    const buffer = this.takeReadBuffer(bytes);
    this.prefetched = { start, bytes, read: this.file.read(buffer, 0, bytes, start).then(() => buffer) };
    this.prefetched.read.catch(() => undefined);
  }

  /** The bytes at `start`: from the read-ahead when it covers them, otherwise read now. */
  private async readRange(start: number, bytes: number): Promise<Buffer> {
    const prefetched = this.prefetched;
    if (prefetched && prefetched.start === start) {
      this.prefetched = undefined;
      const buffer = await prefetched.read.catch(() => undefined);
      if (buffer && prefetched.bytes >= bytes) return buffer;
      if (buffer) this.readBuffers.push(buffer);
    }
    const buffer = this.takeReadBuffer(bytes);
    try {
      await this.file.read(buffer, 0, bytes, start);
    } catch (error) {
      this.readBuffers.push(buffer);
      throw new EventStoreUnavailableError(`the event log could not be read: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return buffer;
  }

  subscribeToStream(stream: string, options: SubscribeToStreamOptions = {}): Subscription {
    this.assertUsable();
    return this.track(
      new PagedSubscription(
        this.feed,
        async (after) => {
          const positions = this.index.streams.get(stream);
          if (!positions) return [];
          const from = after + 1;
          const to = Math.min(positions.length, from + SUBSCRIPTION_PAGE);
          return this.readPositions(range(from, to - 1).map((revision) => positions.at(revision)));
        },
        (event) => event.revision,
        options.afterRevision ?? -1,
        SUBSCRIPTION_PAGE,
      ),
    );
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    this.assertUsable();
    return this.track(
      new PagedSubscription(
        this.feed,
        (after) => {
          const from = after + 1;
          const to = Math.min(this.index.offsets.length, from + SUBSCRIPTION_PAGE);
          return this.readPositions(range(from, to - 1));
        },
        (event) => event.position,
        options.afterPosition ?? -1,
        SUBSCRIPTION_PAGE,
      ),
    );
  }

  async checkHealth(): Promise<void> {
    this.assertUsable();
    if (this.state.status === 'failing') throw this.unavailable();
    await this.file.stat();
  }

  fatalError(): Error | undefined {
    const state = this.state;
    if (state.status === 'lost') return state.error;
    const restartAfterMs = this.settings.restartAfterMs ?? 60_000;
    if (state.status === 'failing' && !state.restored && this.clock() - state.since >= restartAfterMs) {
      return new Error(
        `the event log could not be restored for ${Math.round(restartAfterMs / 1000)} s: ${(state.restoreError ?? state.error).message}`,
      );
    }
    return undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writing;
    this.closed = true;
    clearInterval(this.recoveryTimer);
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    this.signalCommit();
    if (this.allocatedEnd > this.index.size && this.state.status === 'writable') {
      // A log closed cleanly ends with its last record, for any reader of the file.
      await this.file
        .truncate(this.index.size)
        .then(() => this.file.datasync())
        .catch(() => undefined);
    }
    await this.file.close();
    this.lock.release();
  }

  private readonly feed = {
    commitCount: () => this.commits,
    isClosed: () => this.closed || this.state.status === 'lost',
    nextCommit: () => {
      this.commitSignal ??= withResolvers();
      return this.commitSignal.promise;
    },
  };

  private signalCommit(): void {
    const signal = this.commitSignal;
    this.commitSignal = undefined;
    signal?.resolve();
  }

  private track(subscription: PagedSubscription): Subscription {
    this.subscriptions.add(subscription);
    const stop = subscription.stop.bind(subscription);
    subscription.stop = async () => {
      this.subscriptions.delete(subscription);
      await stop();
    };
    return subscription;
  }

  private lastRevision(stream: string): number {
    return (this.index.streams.get(stream)?.length ?? 0) - 1;
  }

  private lastPositionOf(stream: string): number {
    const positions = this.index.streams.get(stream);
    return positions && positions.length > 0 ? positions.at(positions.length - 1) : -1;
  }

  /** Reads events by position, one read per run of adjacent records. */
  private async readPositions(positions: readonly number[]): Promise<RecordedEvent[]> {
    const result: RecordedEvent[] = new Array<RecordedEvent>(positions.length);
    let i = 0;
    while (i < positions.length) {
      const cached = this.recent[positions[i]! % RECENT_EVENTS];
      if (cached && cached.position === positions[i]) {
        result[i++] = cached;
        continue;
      }
      // Extend a run of adjacent positions (ascending or descending) into one read.
      const step = positions[i + 1] === positions[i]! - 1 ? -1 : 1;
      let j = i;
      let bytes = this.index.lengths.at(positions[i]!);
      while (
        j + 1 < positions.length &&
        positions[j + 1] === positions[j]! + step &&
        bytes + this.index.lengths.at(positions[j + 1]!) <= READ_CHUNK_BYTES
      ) {
        j++;
        bytes += this.index.lengths.at(positions[j]!);
      }
      const low = Math.min(positions[i]!, positions[j]!);
      const start = this.index.offsets.at(low);
      const buffer = await this.readRange(start, bytes);
      try {
        for (let k = i; k <= j; k++) {
          const position = positions[k]!;
          const at = this.index.offsets.at(position) - start;
          result[k] = this.decodeAt(position, buffer, at);
        }
      } finally {
        this.readBuffers.push(buffer);
      }
      i = j + 1;
    }
    return result;
  }

  /**
   * Read buffers are reused: decoding copies everything out of them, and a fresh multi-megabyte
   * buffer per read makes V8 count that much new external memory each time and collect early.
   */
  private takeReadBuffer(bytes: number): Buffer {
    const index = this.readBuffers.findIndex((buffer) => buffer.length >= bytes);
    if (index >= 0) return this.readBuffers.splice(index, 1)[0]!;
    if (this.readBuffers.length >= MAX_READ_BUFFERS) this.readBuffers.shift();
    return Buffer.allocUnsafeSlow(Math.max(bytes, 64 * 1024));
  }

  private decodeAt(position: number, buffer: Buffer, offset: number): RecordedEvent {
    const body = decodeBodyAt(buffer, offset);
    return {
      id: body.id,
      stream: this.index.streamNames[this.index.streamIds.at(position)]!,
      revision: this.index.revisions.at(position),
      position,
      type: body.type,
      data: body.data as JsonObject,
      metadata: body.metadata as JsonObject,
    };
  }

  private assertUsable(): void {
    if (this.closed) throw new EventStoreClosedError();
    if (this.state.status === 'lost') throw this.unavailable();
  }

  private unavailable(): EventStoreUnavailableError {
    const state = this.state;
    switch (state.status) {
      case 'lost':
        return new EventStoreUnavailableError(
          `the event log lost acknowledged records and needs a person: ${state.error.message}`,
          { cause: state.error },
        );
      case 'failing': {
        const since = new Date(state.since).toISOString();
        return new EventStoreUnavailableError(
          `the event log cannot write since ${since} (${state.error.message}); it retries on its own`,
          { cause: state.error },
        );
      }
      case 'writable':
        return new EventStoreUnavailableError('the event log is unavailable');
      default:
        return assertNever(state);
    }
  }
}

const assertNever = (value: never): never => {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
};

const satisfies = (expected: ExpectedRevision, head: number): boolean => {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return head === -1;
    case 'stream_exists':
      return head >= 0;
    default:
      return expected === head;
  }
};

/** Indexes `from` (inclusive) in the given direction, at most `maxCount`, within 0..length-1. */
const pick = (
  length: number,
  direction: 'forwards' | 'backwards',
  from: number | undefined,
  maxCount = Number.MAX_SAFE_INTEGER,
): number[] => {
  if (direction === 'forwards') {
    const start = Math.max(0, from ?? 0);
    return range(start, Math.min(length - 1, start + maxCount - 1));
  }
  const start = Math.min(length - 1, from ?? length - 1);
  const end = Math.max(0, start - maxCount + 1);
  const result: number[] = [];
  for (let i = start; i >= end; i--) result.push(i);
  return result;
};

const range = (from: number, to: number): number[] => {
  const result: number[] = [];
  for (let i = from; i <= to; i++) result.push(i);
  return result;
};

const withResolvers = (): { promise: Promise<void>; resolve: () => void } => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};
