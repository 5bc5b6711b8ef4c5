import { randomUUID } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import type { EventStore, EventToAppend } from '../../src/eventstore/port.js';

/** One row of the report: the figure, its target, and whether it is met. */
export interface Figure {
  readonly name: string;
  readonly value: string;
  readonly target: string;
  readonly met: boolean | undefined;
}

/** A realistic event: ~250 bytes of data and metadata, like a SessionCreated with its metadata. */
const sampleEvent = (n: number): EventToAppend => ({
  id: randomUUID(),
  type: 'SessionCreated',
  data: { session_id: `ses-${n}`, category: 'platform', project: 'billing-api', task: { title: 'Add invoice export', description: 'CSV export of invoices per month' }, n },
  metadata: { actor: 'slack-backend', correlation_id: randomUUID(), causation_id: randomUUID(), recorded_at: new Date(1_700_000_000_000 + n).toISOString(), hash: 'a'.repeat(64) },
});

const execFileAsync = promisify(execFile);
const SECTION_RUNNER = join(import.meta.dirname, 'eventstore-section.ts');

const percentile = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** The disk's own limit: small write + fdatasync in a loop, as the log does per group commit. */
export const fdatasyncRate = (dir: string, seconds = 2): number => {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const buffer = Buffer.alloc(300, 1);
  let count = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    writeSync(fd, buffer);
    fdatasyncSync(fd);
    count++;
  }
  closeSync(fd);
  unlinkSync(file);
  return count / seconds;
};

const appendLoad = async (store: EventStore, writers: number, seconds: number): Promise<{ rate: number; p50: number; p99: number }> => {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const stream = `bench-${writers}-${w}`;
      while (performance.now() < end) {
        const event = sampleEvent(n++);
        const t0 = performance.now();
        await store.appendToStream(stream, [event]);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { rate: latencies.length / elapsed, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
};

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export type Section = 'build' | 'startup' | 'appends';

/** One section in this process; `benchEventStore` runs each in a fresh one. */
export const benchSection = async (section: Section, bigDir: string, options: { seconds?: number; openEvents?: number } = {}): Promise<Figure[]> => {
  const seconds = options.seconds ?? 3;
  const openEvents = options.openEvents ?? 1_000_000;
  const dir = await mkdtemp(join(tmpdir(), 'bench-eventstore-'));
  const figures: Figure[] = [];
  try {
    if (section === 'build') {
      // A log of `openEvents` events, written in large batches by one process...
      const big = await openEmbeddedEventStore({ dataDir: bigDir });
      const batch = 2000;
      for (let written = 0; written < openEvents; written += batch) {
        await big.appendToStream(`big-${(written / batch) % 1000}`, Array.from({ length: Math.min(batch, openEvents - written) }, (_, i) => sampleEvent(written + i)));
      }
      await big.close();
    } else if (section === 'startup') {
      // ...opened and replayed by a freshly started one, as after a gateway restart.
      const t0 = performance.now();
      const reopened = await openEmbeddedEventStore({ dataDir: bigDir });
      const openSeconds = (performance.now() - t0) / 1000;
      figures.push({ name: `open + index of ${fmt(openEvents)} events`, value: `${fmt(openSeconds, 2)} s`, target: '≤ 3 s', met: openSeconds <= 3 });

      // Read in pages, as an auditor's replay or a rebuild reads $all. Three passes: this machine's
      // speed varies by a third from run to run, so the median is reported with the range.
      let checksum = 0;
      const touch = (event: { data: Record<string, unknown>; metadata: Record<string, unknown> }): void => {
        checksum += ((event.data['n'] as number) & 1) + (event.metadata['actor'] ? 0 : 1);
      };
      const rates: number[] = [];
      let replayed = 0;
      for (let pass = 0; pass < 3; pass++) {
        const r0 = performance.now();
        replayed = 0;
        for (let from = 0; ; ) {
          const page = await reopened.readAll({ fromPosition: from, maxCount: 1000 });
          if (page.length === 0) break;
          page.forEach(touch);
          replayed += page.length;
          from = page[page.length - 1]!.position + 1;
        }
        rates.push(replayed / ((performance.now() - r0) / 1000));
      }
      rates.sort((a, b) => a - b);
      const median = rates[1]!;
      figures.push({
        name: `full replay of $all in pages of 1,000 (${fmt(replayed)} events, parsed), median of 3`,
        value: `${fmt(median)} events/s (${fmt(rates[0]!)}–${fmt(rates[2]!)})`,
        target: '≥ 650,000 events/s',
        met: median >= 650_000,
      });

      // The other limit of a replay: parsing each record's JSON, measured on the log's own records.
      const sample = (await reopened.readAll({ maxCount: 10_000 })).map((event) => JSON.stringify([event.id, event.type, event.data, event.metadata]));
      const p0 = performance.now();
      let parsed = 0;
      while (performance.now() - p0 < 1000) for (const text of sample) parsed += JSON.parse(text) ? 1 : 0;
      const parseRate = parsed / ((performance.now() - p0) / 1000);
      figures.push({ name: 'JSON.parse of the same records alone (CPU limit of a replay)', value: `${fmt(parseRate)} events/s`, target: '—', met: undefined });

      // The way projections and process managers catch up at start: a $all subscription, one event per iteration.
      const [lastEvent] = await reopened.readAll({ direction: 'backwards', maxCount: 1 });
      const r0 = performance.now();
      replayed = 0;
      const subscription = reopened.subscribeToAll();
      for await (const event of subscription) {
        touch(event);
        replayed++;
        if (event.position === lastEvent!.position) break;
      }
      await subscription.stop();
      const rate = replayed / ((performance.now() - r0) / 1000);
      figures.push({ name: `  the same through a $all subscription (for await per event)`, value: `${fmt(rate)} events/s`, target: '—', met: checksum >= 0 ? undefined : false });
      await reopened.close();
    } else {
      const syncs = fdatasyncRate(dir);
      const store = await openEmbeddedEventStore({ dataDir: join(dir, 'load') });
      for (const writers of [1, 16, 64]) {
        const { rate, p50, p99 } = await appendLoad(store, writers, seconds);
        figures.push({
          name: `durable appends, ${writers} writer${writers === 1 ? '' : 's'}`,
          value: `${fmt(rate)} events/s, p50 ${fmt(p50, 3)} ms, p99 ${fmt(p99, 3)} ms`,
          target: writers === 64 ? '≥ 100,000 events/s' : writers === 1 ? 'p99 ≤ 2 ms' : '—',
          met: writers === 64 ? rate >= 100_000 : writers === 1 ? p99 <= 2 : undefined,
        });
        if (writers === 1) {
          figures.push({ name: '  1 writer: physical ceiling (one fdatasync per append)', value: `${fmt(syncs)} events/s`, target: '—', met: undefined });
        }
      }
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
};

/**
 * Each section runs in a fresh node process, as a freshly started gateway would: measured in
 * one process, whichever of replay and append load runs second is slowed by a third by what
 * the first left in the heap and the JIT.
 */
export const benchEventStore = async (): Promise<Figure[]> => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-disk-'));
  const syncs = fdatasyncRate(dir);
  await rm(dir, { recursive: true, force: true });
  const figures: Figure[] = [{ name: 'raw fdatasync rate of the data disk (physical limit)', value: `${fmt(syncs)} /s (${fmt(1000 / syncs, 3)} ms each)`, target: '—', met: undefined }];
  const bigDir = await mkdtemp(join(tmpdir(), 'bench-log-'));
  try {
    for (const section of ['build', 'startup', 'appends'] as const) {
      const { stdout } = await execFileAsync(process.execPath, [...process.execArgv, SECTION_RUNNER, section, bigDir], { maxBuffer: 1 << 20 });
      figures.push(...(JSON.parse(stdout) as Figure[]));
    }
  } finally {
    await rm(bigDir, { recursive: true, force: true });
  }
  return figures;
};
