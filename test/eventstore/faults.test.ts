import test, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  INLINE_PAUSE_MS,
  LOG_FILE,
  openEmbeddedEventStore,
  type EmbeddedEventStoreOptions,
} from '../../src/eventstore/embedded/index.js';
import {
  EventStoreUnavailableError,
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
} from '../../src/eventstore/port.js';
import { FaultPlan, type WriteFault } from '../support/faulty-log-file.js';
import { logEnd } from '../support/log-end.js';

/**
 * Faults at the file seam of the embedded log: writes cut short at every offset, full disks,
 * I/O errors on write and on sync, a file that cannot be cut back, acknowledged records lost.
 * After each: every acknowledged event is there, intact and in order (live and after a reopen),
 * nothing refused is ever read, and the store goes on without being reopened.
 */

interface Harness {
  readonly dataDir: string;
  readonly plan: FaultPlan;
  store: EventStore;
  readonly open: () => Promise<EventStore>;
}

const harness = async (t: ExecutionContext, options: Partial<EmbeddedEventStoreOptions> = {}): Promise<Harness> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'faults-'));
  const plan = new FaultPlan();
  // No recovery timer unless a test asks for one: what a test sees right after a fault is the fault.
  // No zeros written ahead unless a test asks: a queued fault is meant for the append's write.
  const open = () =>
    openEmbeddedEventStore({
      dataDir,
      openFile: plan.opener,
      recoveryIntervalMs: 3_600_000,
      preallocateBytes: 0,
      ...options,
    });
  const h: Harness = { dataDir, plan, store: await open(), open };
  t.teardown(async () => {
    await h.store.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return h;
};

/** Events of one width, so that every batch of three is the same number of bytes. */
const fixed = (stream: string, n: number): EventToAppend => ({
  id: randomUUID(),
  type: 'Fixed',
  data: { n: String(n).padStart(8, '0') },
  metadata: { stream },
});

const ids = (events: readonly RecordedEvent[]): string[] => events.map((event) => event.id);

/** The store holds exactly `acknowledged` (in order), now and after a reopen. */
const holdsExactly = async (
  t: ExecutionContext,
  h: Harness,
  acknowledged: readonly string[],
  message: string,
): Promise<void> => {
  t.deepEqual(ids(await h.store.readAll()), acknowledged, `${message}: live`);
  await h.store.close();
  h.plan.clear();
  h.store = await h.open();
  t.deepEqual(ids(await h.store.readAll()), acknowledged, `${message}: after a reopen`);
};

/** The bytes of a batch of three events on `stream`, measured by appending one. */
const batchBytes = async (h: Harness, stream: string): Promise<number> => {
  const before = await logEnd(h.dataDir);
  await h.store.appendToStream(
    stream,
    [0, 1, 2].map((n) => fixed(stream, n)),
  );
  return (await logEnd(h.dataDir)) - before;
};

const writeFaults: readonly { readonly name: string; readonly fault: (bytes: number) => WriteFault }[] = [
  { name: 'ENOSPC on write before any byte', fault: () => ({ kind: 'error', code: 'ENOSPC', afterBytes: 0 }) },
  {
    name: 'ENOSPC on write in the middle',
    fault: (bytes) => ({ kind: 'error', code: 'ENOSPC', afterBytes: Math.floor(bytes / 2) }),
  },
  {
    name: 'EIO on write after all but one byte',
    fault: (bytes) => ({ kind: 'error', code: 'EIO', afterBytes: bytes - 1 }),
  },
  { name: 'EIO on write in the first record', fault: () => ({ kind: 'error', code: 'EIO', afterBytes: 7 }) },
  { name: 'EIO on sync (every byte in the file)', fault: () => ({ kind: 'sync', code: 'EIO' }) },
  { name: 'ENOSPC on sync (every byte in the file)', fault: () => ({ kind: 'sync', code: 'ENOSPC' }) },
];

/** Lone appends are written on the event loop's thread, or (if so configured) through the pool. */
const WAYS = ['inline', 'thread pool'] as const;

// A busy test machine's disk may take longer than the default bound; these tests are about faults.
const inlineOr = (way: (typeof WAYS)[number]): Partial<EmbeddedEventStoreOptions> =>
  way === 'inline' ? { inlineLoneAppends: true, inlineSlowMs: Number.POSITIVE_INFINITY } : { inlineLoneAppends: false };

const wentThrough = (t: ExecutionContext, h: Harness, way: (typeof WAYS)[number]): void => {
  const { inline, pool } = h.plan.writes;
  // After a failed write, the writes that retry go through the pool: the disk is suspect.
  if (way === 'inline') t.true(inline > 0, `written inline (${inline} inline, ${pool} through the pool)`);
  else t.true(pool > 0 && inline === 0, `written through the pool (${inline} inline, ${pool} through the pool)`);
};

for (const way of WAYS) {
  test(`a write cut short at any offset is finished: the batch is acknowledged whole (${way})`, async (t) => {
    const h = await harness(t, inlineOr(way));
    const bytes = await batchBytes(h, 'short');
    const acknowledged = ids(await h.store.readAll());
    // (A write of a regular file that reports 0 bytes and no error does not happen; the store
    // refuses it rather than loop.)
    for (let cut = 1; cut < bytes; cut++) {
      h.plan.failNextWrite({ kind: 'short', bytes: cut });
      const events = [0, 1, 2].map((n) => fixed('short', n));
      await h.store.appendToStream('short', events);
      acknowledged.push(...events.map((event) => event.id));
    }
    t.is(h.plan.pendingWriteFaults, 0);
    wentThrough(t, h, way);
    await holdsExactly(t, h, acknowledged, `${bytes} short writes`);
  });

  test(`a full disk at any offset of a batch: nothing acknowledged, nothing left, and the next write succeeds without a reopen (${way})`, async (t) => {
    const h = await harness(t, inlineOr(way));
    const bytes = await batchBytes(h, 'full');
    const acknowledged = ids(await h.store.readAll());
    for (let cut = 0; cut < bytes; cut++) {
      const sizeBefore = await logEnd(h.dataDir);
      // What a filling disk does: the write lands part of the batch and reports it; the rest fails.
      if (cut > 0) h.plan.failNextWrite({ kind: 'short', bytes: cut });
      h.plan.failNextWrite({ kind: 'error', code: 'ENOSPC', afterBytes: 0 });
      const refused = [0, 1, 2].map((n) => fixed('full', n));
      const error = await t.throwsAsync(() => h.store.appendToStream('full', refused), {
        instanceOf: EventStoreUnavailableError,
      });
      t.regex(error?.message ?? '', /ENOSPC/);
      t.is(await logEnd(h.dataDir), sizeBefore, `cut at ${cut}: the partial batch is gone from the file`);
      t.deepEqual(ids(await h.store.readAll()), acknowledged, `cut at ${cut}: nothing refused is read`);
      const next = [fixed('full', 9)];
      await h.store.appendToStream('full', next);
      acknowledged.push(next[0]!.id);
    }
    wentThrough(t, h, way);
    await holdsExactly(t, h, acknowledged, `${bytes} full-disk cuts`);
  });

  for (const { name, fault } of writeFaults) {
    test(`${name}: refused, readiness says why until a write succeeds, and the log goes on (${way})`, async (t) => {
      const h = await harness(t, inlineOr(way));
      const bytes = await batchBytes(h, 'faulty');
      const acknowledged = ids(await h.store.readAll());
      h.plan.failNextWrite(fault(bytes));
      const refused = [0, 1, 2].map((n) => fixed('faulty', n));
      await t.throwsAsync(() => h.store.appendToStream('faulty', refused), { instanceOf: EventStoreUnavailableError });
      await t.throwsAsync(() => h.store.checkHealth(), {
        instanceOf: EventStoreUnavailableError,
        message: /cannot write since .* retries on its own/,
      });
      t.is(h.store.fatalError(), undefined, 'nothing a restart would mend');
      t.is((await h.store.readStream('faulty')).length, 3, 'reads go on, and show nothing refused');
      const next = [fixed('faulty', 3)];
      const result = await h.store.appendToStream('faulty', next, { expectedRevision: 2 });
      t.is(result.nextExpectedRevision, 3, 'the refused batch took no revision');
      await t.notThrowsAsync(() => h.store.checkHealth());
      wentThrough(t, h, way);
      await holdsExactly(t, h, [...acknowledged, next[0]!.id], name);
    });
  }
}

test('a log that cannot be cut back refuses appends until a timer restores it, without a reopen', async (t) => {
  const h = await harness(t, { recoveryIntervalMs: 20 });
  const acknowledged = ids(await h.store.readAll());
  h.plan.failNextWrite({ kind: 'error', code: 'EIO', afterBytes: 40 });
  h.plan.failNext('truncate', 'EIO', 1_000_000);
  await t.throwsAsync(() => h.store.appendToStream('s', [fixed('s', 0)]), { instanceOf: EventStoreUnavailableError });
  // Until the file is cut back no write may be tried: it would land after the torn bytes.
  await t.throwsAsync(() => h.store.appendToStream('s', [fixed('s', 1)]), { instanceOf: EventStoreUnavailableError });
  await t.throwsAsync(() => h.store.checkHealth(), { instanceOf: EventStoreUnavailableError });
  h.plan.clear();
  const started = Date.now();
  while (Date.now() - started < 5000) {
    if (
      await h.store.checkHealth().then(
        () => true,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await t.notThrowsAsync(() => h.store.checkHealth(), 'restored by the timer, with no append asking');
  t.true(
    h.plan.happened.filter((fault) => fault === 'truncate EIO').length >= 2,
    'the cut back failed, then the timer made it',
  );
  const next = [fixed('s', 2)];
  t.is((await h.store.appendToStream('s', next, { expectedRevision: 'no_stream' })).nextExpectedRevision, 0);
  await holdsExactly(t, h, [...acknowledged, next[0]!.id], 'after the restore');
});

test('a log that stays unrestorable past restartAfterMs asks for a restart (liveness), and stops asking once restored', async (t) => {
  let now = 1_000_000;
  const h = await harness(t, { restartAfterMs: 60_000, clock: () => now, recoveryIntervalMs: 10 });
  h.plan.failNextWrite({ kind: 'error', code: 'EIO', afterBytes: 3 });
  h.plan.failNext('open', 'EMFILE', 1_000_000);
  await t.throwsAsync(() => h.store.appendToStream('s', [fixed('s', 0)]), { instanceOf: EventStoreUnavailableError });
  t.is(h.store.fatalError(), undefined, 'a minute is given to recover by itself');
  now += 60_000;
  t.regex(h.store.fatalError()?.message ?? '', /could not be restored for 60 s: EMFILE/);
  h.plan.clear();
  const started = Date.now();
  while (
    !(await h.store.checkHealth().then(
      () => true,
      () => false,
    )) &&
    Date.now() - started < 5000
  )
    await new Promise((resolve) => setTimeout(resolve, 5));
  await t.notThrowsAsync(() => h.store.checkHealth());
  t.is(h.store.fatalError(), undefined);
});

test('a full disk refuses appends; once space returns, readiness recovers within the probe interval with no append, and nothing acknowledged is lost', async (t) => {
  // Zeros written ahead fill the disk too; appends overwrite them until the disk is full.
  const h = await harness(t, { recoveryIntervalMs: 50, preallocateBytes: 4096 });
  h.plan.freeBytes = 20_000;
  const acknowledged: string[] = [];
  let refusal: unknown;
  for (let n = 0; !refusal; n++) {
    const event = fixed('fill', n);
    try {
      await h.store.appendToStream('fill', [event]);
      acknowledged.push(event.id);
    } catch (error) {
      refusal = error;
    }
  }
  t.true(refusal instanceof EventStoreUnavailableError);
  t.true(acknowledged.length > 50, `${acknowledged.length} appends fit`);
  await t.throwsAsync(() => h.store.checkHealth(), { message: /ENOSPC/ });
  t.deepEqual(ids(await h.store.readAll()), acknowledged);
  // Still full a while later: the probe keeps failing, and readiness keeps saying so.
  await new Promise((resolve) => setTimeout(resolve, 200));
  await t.throwsAsync(() => h.store.checkHealth(), { message: /ENOSPC/ });
  h.plan.freeBytes = 10_000_000;
  const spaceBack = Date.now();
  while (
    !(await h.store.checkHealth().then(
      () => true,
      () => false,
    ))
  ) {
    if (Date.now() - spaceBack > 5000) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const recoveredMs = Date.now() - spaceBack;
  t.log(`ready again ${recoveredMs} ms after space returned (probe every 50 ms)`);
  await t.notThrowsAsync(() => h.store.checkHealth());
  const after = fixed('fill', 99_999);
  await h.store.appendToStream('fill', [after]);
  await holdsExactly(t, h, [...acknowledged, after.id], 'after the disk filled and emptied');
});

test('acknowledged records gone from under the store: it stops for good, says why, and asks for a restart', async (t) => {
  const h = await harness(t);
  for (let n = 0; n < 5; n++) await h.store.appendToStream('s', [fixed('s', n)]);
  // Someone (a broken disk, a person) cut the file while the store held it.
  await truncate(join(h.dataDir, LOG_FILE), (await logEnd(h.dataDir)) - 10);
  h.plan.failNextWrite({ kind: 'error', code: 'EIO', afterBytes: 0 });
  await t.throwsAsync(() => h.store.appendToStream('s', [fixed('s', 5)]), { instanceOf: EventStoreUnavailableError });
  t.regex(h.store.fatalError()?.message ?? '', /acknowledged records end at byte/);
  await t.throwsAsync(() => h.store.checkHealth(), { message: /lost acknowledged records/ });
  await t.throwsAsync(() => h.store.appendToStream('s', [fixed('s', 6)]), { message: /lost acknowledged records/ });
  await t.throwsAsync(() => h.store.readAll(), { message: /lost acknowledged records/ });
});

test('random faults under 16 concurrent writers: every acknowledged event present and in order, nothing refused ever read', async (t) => {
  t.timeout(120_000);
  // Zeros written ahead every few batches: random faults hit those writes too.
  const h = await harness(t, { recoveryIntervalMs: 5, preallocateBytes: 4096 });
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  h.plan.random = (bytes) => {
    const roll = random();
    if (roll > 0.2) return undefined;
    const at = Math.floor(random() * bytes);
    if (roll < 0.05) return { kind: 'short', bytes: at };
    if (roll < 0.09) {
      // Now and then the cut back fails too, so some refusals wait for the timer.
      if (random() < 0.3) h.plan.failNext('truncate', 'EIO');
      return { kind: 'error', code: 'EIO', afterBytes: at };
    }
    if (roll < 0.14) return { kind: 'error', code: 'ENOSPC', afterBytes: at };
    return { kind: 'sync', code: random() < 0.5 ? 'EIO' : 'ENOSPC' };
  };
  const seen: string[] = [];
  const subscription = h.store.subscribeToAll();
  const watching = (async () => {
    for await (const event of subscription) seen.push(event.id);
  })();
  const acknowledged = new Map<string, string[]>();
  const refused = new Set<string>();
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      const stream = `writer-${w}`;
      const mine: string[] = [];
      acknowledged.set(stream, mine);
      for (let append = 0; append < 150; append++) {
        const size = 1 + ((w + append) % 3);
        for (;;) {
          const events = Array.from({ length: size }, (_, i) => fixed(stream, mine.length + i));
          try {
            await h.store.appendToStream(stream, events, {
              expectedRevision: mine.length === 0 ? 'no_stream' : mine.length - 1,
            });
            mine.push(...events.map((event) => event.id));
            break;
          } catch (error) {
            if (!(error instanceof EventStoreUnavailableError)) throw error;
            // A retry with new ids: the refused ones must never show up anywhere.
            for (const event of events) refused.add(event.id);
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        }
      }
    }),
  );
  h.plan.random = undefined;
  const all = await h.store.readAll();
  while (seen.length < all.length) await new Promise((resolve) => setTimeout(resolve, 5));
  await subscription.stop();
  await watching;
  t.log(`${all.length} events acknowledged, ${refused.size} refused, ${h.plan.happened.length} faults injected`);
  t.true(h.plan.happened.length > 30, 'faults were hit');
  for (const [stream, mine] of acknowledged) t.deepEqual(ids(await h.store.readStream(stream)), mine, stream);
  t.deepEqual(seen, ids(all), 'the live subscription saw exactly the log, in order');
  t.deepEqual(
    ids(all).filter((id) => refused.has(id)),
    [],
    'no refused event was ever read',
  );
  await holdsExactly(t, h, ids(all), 'random faults');
});

test('a slow inline write sends lone appends through the thread pool for a while, so a stalling disk does not block the event loop append after append', async (t) => {
  let now = 1_000_000;
  const h = await harness(t, { inlineLoneAppends: true, inlineSlowMs: 20, clock: () => now });
  await h.store.appendToStream('slow', [fixed('slow', 0)]);
  t.deepEqual(h.plan.writes, { inline: 1, pool: 0 });
  h.plan.stallInlineWritesMs = 40;
  await h.store.appendToStream('slow', [fixed('slow', 1)]);
  t.deepEqual(h.plan.writes, { inline: 2, pool: 0 }, 'the slow write itself was inline');
  for (let n = 2; n < 5; n++) await h.store.appendToStream('slow', [fixed('slow', n)]);
  t.deepEqual(h.plan.writes, { inline: 2, pool: 3 }, 'the next ones go through the pool');
  now += INLINE_PAUSE_MS;
  h.plan.stallInlineWritesMs = 0;
  await h.store.appendToStream('slow', [fixed('slow', 5)]);
  t.deepEqual(h.plan.writes, { inline: 3, pool: 3 }, 'inline again after the pause');
  t.is((await h.store.readStream('slow')).length, 6);
});
