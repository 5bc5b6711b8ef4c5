import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { IdempotencyState } from './idempotency.js';

/**
 * Where Idempotency-Key records live: beside the event log, not in it. A key is bookkeeping of
 * the HTTP edge, not something that happened in the domain; kept in the audited log it grew the
 * log, the store's index and the stream catalog for ever, one stream per key. Here a key expires
 * (`ttlMs` after its response was recorded) and the number of keys is bounded (the oldest go
 * first beyond `maxKeys`), so neither memory nor disk grows without bound.
 */
export interface IdempotencyStore {
  /** The key's state now: `absent` when it never was, or has expired. */
  read(scope: string): IdempotencyState;
  /** Keeps the key's new state; an `in_progress` one until its lease ends, the others for the TTL. */
  write(scope: string, state: IdempotencyState): void;
  close(): void;
}

export interface IdempotencyStoreOptions {
  /** The SQLite file; `:memory:` for a store that lives as long as the process. */
  readonly path: string;
  readonly ttlMs: number;
  readonly maxKeys: number;
  readonly clock?: () => number;
  /** Expired and surplus keys are removed every this many writes (and at open). */
  readonly pruneEvery?: number;
}

interface Row {
  readonly state: string;
  readonly expires_at: number;
}

/**
 * SQLite through better-sqlite3: synchronous, so a read-decide-write of one key can never
 * interleave with another request's in this process (Node runs one at a time); WAL with
 * `synchronous = FULL`, so a recorded response survives a crash, as the commands it answers do.
 */
export const openIdempotencyStore = (options: IdempotencyStoreOptions): IdempotencyStore => {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(
    'CREATE TABLE IF NOT EXISTS idempotency_keys (scope TEXT PRIMARY KEY, state TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID',
  );
  db.exec('CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at)');
  const select = db.prepare<[string], Row>('SELECT state, expires_at FROM idempotency_keys WHERE scope = ?');
  const upsert = db.prepare<[string, string, number]>(
    'INSERT INTO idempotency_keys (scope, state, expires_at) VALUES (?, ?, ?) ON CONFLICT (scope) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at',
  );
  const removeExpired = db.prepare<[number]>('DELETE FROM idempotency_keys WHERE expires_at <= ?');
  const removeOldest = db.prepare<[number]>(
    'DELETE FROM idempotency_keys WHERE scope IN (SELECT scope FROM idempotency_keys ORDER BY expires_at LIMIT ?)',
  );
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM idempotency_keys');
  const clock = options.clock ?? Date.now;
  const pruneEvery = options.pruneEvery ?? 1000;
  let writes = 0;

  const prune = (): void => {
    removeExpired.run(clock());
    const surplus = count.get()!.n - options.maxKeys;
    if (surplus > 0) removeOldest.run(surplus);
  };
  prune();

  return {
    read: (scope) => {
      const row = select.get(scope);
      if (!row || row.expires_at <= clock()) return { status: 'absent' };
      return JSON.parse(row.state) as IdempotencyState;
    },
    write: (scope, state) => {
      const expiresAt = state.status === 'in_progress' ? state.leaseEndsAt : clock() + options.ttlMs;
      upsert.run(scope, JSON.stringify(state), expiresAt);
      if (++writes % pruneEvery === 0) prune();
    },
    close: () => db.close(),
  };
};
