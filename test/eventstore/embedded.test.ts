import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_FILE, openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { EventLogCorruptedError, EventStoreLockedError, type EventStore } from '../../src/eventstore/port.js';
import { logEnd } from '../support/log-end.js';
import { event } from './contract.js';

const tempDir = async (t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'embedded-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

/** A log of `count` events on two streams; returns the file size before the last record. */
const writeLog = async (dataDir: string, count: number): Promise<{ beforeLast: number; size: number }> => {
  const store = await openEmbeddedEventStore({ dataDir });
  for (let i = 0; i < count - 1; i++) await store.appendToStream(i % 2 ? 'odd' : 'even', [event('N', i)]);
  await store.close();
  const beforeLast = (await stat(join(dataDir, LOG_FILE))).size;
  const again = await openEmbeddedEventStore({ dataDir });
  await again.appendToStream('last', [event('N', count - 1, { padding: 'x'.repeat(40) })]);
  await again.close();
  return { beforeLast, size: (await stat(join(dataDir, LOG_FILE))).size };
};

const numbersIn = async (store: EventStore): Promise<number[]> =>
  (await store.readAll()).map((e) => e.data['n'] as number);

test('a torn last record is cut at every byte offset; everything before it survives', async (t) => {
  const dataDir = await tempDir(t);
  const { beforeLast, size } = await writeLog(dataDir, 5);
  const file = join(dataDir, LOG_FILE);
  const whole = await readFile(file);
  for (let cut = beforeLast; cut < size; cut++) {
    await writeFile(file, whole.subarray(0, cut));
    const store = await openEmbeddedEventStore({ dataDir });
    t.deepEqual(await numbersIn(store), [0, 1, 2, 3], `cut at ${cut}`);
    t.is((await stat(file)).size, beforeLast, `the tail is truncated at ${cut}`);
    // The log is writable again after the cut, and the new record lands where the torn one was.
    await store.appendToStream('last', [event('N', 99)], { expectedRevision: 'no_stream' });
    await store.close();
  }
  await writeFile(file, whole);
  const intact = await openEmbeddedEventStore({ dataDir });
  t.deepEqual(await numbersIn(intact), [0, 1, 2, 3, 4]);
  await intact.close();
});

test('zeros are written ahead of the end while the log is open; a clean close cuts them, and so does opening after a crash', async (t) => {
  const dataDir = await tempDir(t);
  const file = join(dataDir, LOG_FILE);
  const store = await openEmbeddedEventStore({ dataDir, preallocateBytes: 64 * 1024 });
  for (let i = 0; i < 10; i++) await store.appendToStream('s', [event('N', i)]);
  const end = await logEnd(dataDir);
  t.true((await stat(file)).size >= end + 32 * 1024, 'at least half of the zeros are ahead of the last record');
  // What a crash leaves: the file as it is now, zeros and all, opened by a new process.
  const crashed = await tempDir(t);
  await writeFile(join(crashed, LOG_FILE), await readFile(file));
  const reopened = await openEmbeddedEventStore({ dataDir: crashed, preallocateBytes: 0 });
  t.deepEqual(await numbersIn(reopened), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.is((await stat(join(crashed, LOG_FILE))).size, end, 'opening cut the zeros');
  await reopened.close();
  await store.close();
  t.is((await stat(file)).size, end, 'a clean close leaves the last record at the end of the file');
});

test('garbage appended after the last record is cut off', async (t) => {
  const dataDir = await tempDir(t);
  const { size } = await writeLog(dataDir, 4);
  await appendFile(join(dataDir, LOG_FILE), Buffer.from('\x00\x01garbage that is not a record \xff\xfe'));
  const store = await openEmbeddedEventStore({ dataDir });
  t.deepEqual(await numbersIn(store), [0, 1, 2, 3]);
  t.is((await stat(join(dataDir, LOG_FILE))).size, size);
  await store.close();
});

test('a flipped bit in the middle refuses to open, naming the file and the offset', async (t) => {
  const dataDir = await tempDir(t);
  await writeLog(dataDir, 6);
  const file = join(dataDir, LOG_FILE);
  const bytes = await readFile(file);
  const store = await openEmbeddedEventStore({ dataDir });
  const positions = await store.readAll();
  await store.close();
  // Flip one bit inside the payload of the third record.
  const thirdStart = recordOffsets(bytes)[2]!;
  const flipped = Buffer.from(bytes);
  flipped[thirdStart + 20]! ^= 0x04;
  await writeFile(file, flipped);
  const error = await t.throwsAsync(() => openEmbeddedEventStore({ dataDir }), { instanceOf: EventLogCorruptedError });
  t.is(error?.file, file);
  t.is(error?.offset, thirdStart);
  t.regex(error?.message ?? '', new RegExp(`offset ${thirdStart}`));
  t.is((await readFile(file)).length, bytes.length, 'a refused log is left as it was');
  t.is(positions.length, 6);
  // The lock was released: after repair the folder opens.
  await writeFile(file, bytes);
  const repaired = await openEmbeddedEventStore({ dataDir });
  t.is((await repaired.readAll()).length, 6);
  await repaired.close();
});

test('a damaged length field in the middle is corruption too, not a tail', async (t) => {
  const dataDir = await tempDir(t);
  await writeLog(dataDir, 4);
  const file = join(dataDir, LOG_FILE);
  const bytes = Buffer.from(await readFile(file));
  const second = recordOffsets(bytes)[1]!;
  bytes.writeUInt32LE(0x00ffffff, second);
  await writeFile(file, bytes);
  const error = await t.throwsAsync(() => openEmbeddedEventStore({ dataDir }), { instanceOf: EventLogCorruptedError });
  t.is(error?.offset, second);
});

test('a second process on the same folder is refused while the first holds it, and admitted after it dies', async (t) => {
  const dataDir = await tempDir(t);
  const holder = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, '..', 'crash', 'hold-store.ts'), dataDir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => void holder.kill('SIGKILL'));
  const [ready] = (await once(holder.stdout!, 'data')) as [Buffer];
  t.is(ready.toString().trim(), 'open');
  const error = await t.throwsAsync(() => openEmbeddedEventStore({ dataDir }), { instanceOf: EventStoreLockedError });
  t.regex(error?.message ?? '', /locked by another process/);
  holder.kill('SIGKILL');
  await once(holder, 'exit');
  const store = await openEmbeddedEventStore({ dataDir });
  t.deepEqual(await numbersIn(store), [7], 'the holder’s acknowledged event is there');
  await store.close();
});

test('a second open in the same process is refused too', async (t) => {
  const dataDir = await tempDir(t);
  const first = await openEmbeddedEventStore({ dataDir });
  await t.throwsAsync(() => openEmbeddedEventStore({ dataDir }), { instanceOf: EventStoreLockedError });
  await first.close();
  const second = await openEmbeddedEventStore({ dataDir });
  await second.close();
  t.pass();
});

test('the index rebuilt at open serves streams, revisions and positions exactly as before', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openEmbeddedEventStore({ dataDir });
  for (let i = 0; i < 300; i++) await store.appendToStream(`s-${i % 7}`, [event('N', i)]);
  const before = await store.readAll();
  const streamBefore = await store.readStream('s-3', { direction: 'backwards', maxCount: 5 });
  await store.close();
  const reopened = await openEmbeddedEventStore({ dataDir });
  t.deepEqual(await reopened.readAll(), before);
  t.deepEqual(await reopened.readStream('s-3', { direction: 'backwards', maxCount: 5 }), streamBefore);
  const appended = await reopened.appendToStream('s-3', [event('N', 300)], { expectedRevision: 42 });
  t.is(appended.nextExpectedRevision, 43);
  t.is(appended.position, 300);
  await reopened.close();
});

test('concurrent appends share one fdatasync (group commit)', async (t) => {
  const dataDir = await tempDir(t);
  const commits: number[] = [];
  const store = await openEmbeddedEventStore({ dataDir, onCommit: (events) => commits.push(events) });
  await Promise.all(Array.from({ length: 64 }, (_, i) => store.appendToStream(`w-${i}`, [event('N', i)])));
  t.is(
    commits.reduce((sum, n) => sum + n, 0),
    64,
  );
  t.true(commits.length < 64, `64 concurrent appends took ${commits.length} syncs`);
  t.true(Math.max(...commits) > 1);
  await store.close();
});

test('a record whose stream name has multi-byte characters survives a reopen', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openEmbeddedEventStore({ dataDir });
  await store.appendToStream('séssion-ü', [event('N', 1)]);
  await store.close();
  const reopened = await openEmbeddedEventStore({ dataDir });
  t.deepEqual(
    (await reopened.readStream('séssion-ü')).map((e) => e.data['n']),
    [1],
  );
  await reopened.close();
});

test('an empty log file and a missing folder both open as an empty store', async (t) => {
  const dataDir = join(await tempDir(t), 'nested', 'events');
  const store = await openEmbeddedEventStore({ dataDir });
  t.deepEqual(await store.readAll(), []);
  await store.close();
  await truncate(join(dataDir, LOG_FILE), 0);
  const again = await openEmbeddedEventStore({ dataDir });
  t.deepEqual(await again.readAll(), []);
  await again.close();
});

/** Offsets of the records in a log (the frame is u32 length, u32 crc, payload). */
const recordOffsets = (bytes: Buffer): number[] => {
  const offsets: number[] = [];
  for (let offset = 0; offset + 8 <= bytes.length; offset += 8 + bytes.readUInt32LE(offset)) offsets.push(offset);
  return offsets;
};

test('paging through $all with read-ahead returns exactly the log, also with concurrent readers, page sizes and appends', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openEmbeddedEventStore({ dataDir });
  for (let i = 0; i < 20; i++)
    await store.appendToStream(
      `p-${i % 3}`,
      Array.from({ length: 100 }, (_, k) => event('N', i * 100 + k)),
    );
  const page = async (size: number): Promise<number[]> => {
    const seen: number[] = [];
    for (let from = 0; ;) {
      const events = await store.readAll({ fromPosition: from, maxCount: size });
      if (events.length === 0 || from >= 2000) break;
      for (const e of events) if (e.position < 2000) seen.push(e.data['n'] as number);
      from = events[events.length - 1]!.position + 1;
    }
    return seen;
  };
  const expected = Array.from({ length: 2000 }, (_, i) => i);
  const appending = (async () => {
    for (let i = 0; i < 20; i++) await store.appendToStream('late', [event('N', 5000 + i)]);
  })();
  const [a, b, c] = await Promise.all([page(100), page(37), page(1000)]);
  await appending;
  t.deepEqual(a, expected);
  t.deepEqual(b, expected);
  t.deepEqual(c, expected);
  t.is((await store.readAll()).length, 2020);
  await store.close();
});
