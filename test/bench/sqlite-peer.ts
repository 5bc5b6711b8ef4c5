import { mkdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { AppendResult, EventToAppend, JsonObject, RecordedEvent } from '../../src/eventstore/port.js';

/**
 * The peer the embedded store is measured against in `npm run bench -- eventstore`: an event
 * store on SQLite with its durable settings (WAL, `synchronous = FULL`: every commit's WAL frames
 * are synced before it returns). One table, `position` its rowid, data and metadata kept as the
 * JSON text the embedded log writes, and a unique index on (stream, revision), which is what
 * optimistic concurrency needs.
 *
 * Group commit like the embedded store: appends queue up, and one transaction takes all that
 * arrived before it starts. better-sqlite3 is synchronous, so nothing arrives while a commit runs;
 * the queue is flushed on the next `setImmediate`, after the writers released by the previous
 * commit (microtasks) have queued their next appends. Only what the bench needs: appends with
 * `any` expected revision, and forward reads of $all.
 */
export interface SqlitePeer {
  appendToStream(stream: string, events: readonly EventToAppend[]): Promise<AppendResult>;
  readAll(options: { fromPosition?: number; maxCount?: number }): Promise<RecordedEvent[]>;
  close(): Promise<void>;
}

interface Pending {
  readonly stream: string;
  readonly events: readonly EventToAppend[];
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

type Row = [
  position: number,
  stream: string,
  revision: number,
  id: string,
  type: string,
  data: string,
  metadata: string,
];

export const SQLITE_FILE = 'events.sqlite';

export const openSqlitePeer = (dir: string): SqlitePeer => {
  mkdirSync(dir, { recursive: true });
  const db = new Database(`${dir}/${SQLITE_FILE}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(
    'CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, revision INTEGER NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL)',
  );
  db.exec('CREATE UNIQUE INDEX IF NOT EXISTS events_stream_revision ON events (stream, revision)');
  const insert = db.prepare<[number, string, number, string, string, string, string]>(
    'INSERT INTO events (position, stream, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const headOfStream = db.prepare<[string], number | null>('SELECT max(revision) FROM events WHERE stream = ?').pluck();
  const page = db
    .prepare<[number, number], Row>(
      'SELECT position, stream, revision, id, type, data, metadata FROM events WHERE position >= ? ORDER BY position LIMIT ?',
    )
    .raw();
  let nextPosition = ((db.prepare('SELECT max(position) FROM events').pluck().get() as number | null) ?? -1) + 1;
  /** Each stream's last revision, read from the index once, then kept (one writing process). */
  const heads = new Map<string, number>();
  const headOf = (stream: string): number => {
    let head = heads.get(stream);
    if (head === undefined) {
      head = headOfStream.get(stream) ?? -1;
      heads.set(stream, head);
    }
    return head;
  };

  let queue: Pending[] = [];
  let scheduled = false;
  let closed = false;
  const commit = db.transaction((batch: Pending[], results: AppendResult[]) => {
    for (const { stream, events } of batch) {
      let revision = headOf(stream);
      for (const event of events) {
        insert.run(
          nextPosition++,
          stream,
          ++revision,
          event.id,
          event.type,
          JSON.stringify(event.data),
          JSON.stringify(event.metadata),
        );
      }
      heads.set(stream, revision);
      results.push({ nextExpectedRevision: revision, position: nextPosition - 1 });
    }
  });
  const flush = (): void => {
    scheduled = false;
    const batch = queue;
    queue = [];
    const results: AppendResult[] = [];
    const positionBefore = nextPosition;
    const headsBefore = new Map(batch.map(({ stream }) => [stream, heads.get(stream)]));
    try {
      commit(batch, results);
    } catch (error) {
      // Rolled back: forget what the failed transaction would have written.
      nextPosition = positionBefore;
      for (const [stream, head] of headsBefore)
        if (head === undefined) heads.delete(stream);
        else heads.set(stream, head);
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, i) => pending.resolve(results[i]!));
  };

  return {
    appendToStream: (stream, events) => {
      if (closed) return Promise.reject(new Error('the SQLite peer is closed'));
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ stream, events, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    // async like the embedded store's readAll, so that both replays run the same loop.
    readAll: async ({ fromPosition = 0, maxCount = Number.MAX_SAFE_INTEGER }) =>
      page.all(fromPosition, maxCount).map(([position, stream, revision, id, type, data, metadata]): RecordedEvent => ({
        id,
        stream,
        revision,
        position,
        type,
        data: JSON.parse(data) as JsonObject,
        metadata: JSON.parse(metadata) as JsonObject,
      })),
    close: async () => {
      closed = true;
      while (scheduled || queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
      db.close();
    },
  };
};
