import { randomUUID } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import type { EventToAppend, RecordedEvent } from '../../src/eventstore/port.js';
import { openSqlitePeer } from './sqlite-peer.js';

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
  data: {
    session_id: `ses-${n}`,
    category: 'platform',
    project: 'billing-api',
    task: { title: 'Add invoice export', description: 'CSV export of invoices per month' },
    n,
  },
  metadata: {
    actor: 'slack-backend',
    correlation_id: randomUUID(),
    causation_id: randomUUID(),
    recorded_at: new Date(1_700_000_000_000 + n).toISOString(),
    hash: 'a'.repeat(64),
  },
});

const execFileAsync = promisify(execFile);
const SECTION_RUNNER = join(import.meta.dirname, 'eventstore-section.ts');

const percentile = (sorted: Float64Array, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/**
 * The disk's own limit: small write + fdatasync in a loop, as the log does per group commit;
 * `append` grows the file with each write (every sync commits the file system's journal too),
 * `overwrite` writes over zeros written and synced beforehand (only the data is synced), as the
 * log does into the zeros it writes ahead of its end and SQLite into its reused WAL.
 */
export const fdatasyncRate = (dir: string, mode: 'append' | 'overwrite' = 'append', seconds = 2): number => {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const buffer = Buffer.alloc(300, 1);
  const span = 64 * 1024 * 1024;
  if (mode === 'overwrite') {
    const zeros = Buffer.alloc(1024 * 1024);
    for (let at = 0; at < span; at += zeros.length) writeSync(fd, zeros, 0, zeros.length, at);
    fdatasyncSync(fd);
  }
  let count = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    if (mode === 'overwrite') writeSync(fd, buffer, 0, buffer.length, (count * buffer.length) % (span - buffer.length));
    else writeSync(fd, buffer);
    fdatasyncSync(fd);
    count++;
  }
  closeSync(fd);
  unlinkSync(file);
  return count / seconds;
};

/** What the append harness needs of a store: the embedded one and the SQLite peer both have it. */
interface Appender {
  appendToStream(stream: string, events: readonly EventToAppend[]): Promise<unknown>;
}

/** What a replay needs: forward pages of $all by position. */
interface AllReader {
  readAll(options: { fromPosition: number; maxCount: number }): Promise<readonly RecordedEvent[]>;
}

const appendLoad = async (
  store: Appender,
  writers: number,
  seconds: number,
): Promise<{ rate: number; p50: number; p99: number }> => {
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

let checksum = 0;
const touch = (event: { data: Record<string, unknown>; metadata: Record<string, unknown> }): void => {
  checksum += ((event.data['n'] as number) & 1) + (event.metadata['actor'] ? 0 : 1);
};

/**
 * Reads $all in pages of 1,000, as an auditor's replay or a rebuild does. Three passes: this
 * machine's speed varies by a third from run to run, so the median is reported with the range.
 */
const replayPass = async (store: AllReader): Promise<{ replayed: number; rate: number }> => {
  const r0 = performance.now();
  let replayed = 0;
  for (let from = 0; ;) {
    const page = await store.readAll({ fromPosition: from, maxCount: 1000 });
    if (page.length === 0) break;
    page.forEach(touch);
    replayed += page.length;
    from = page[page.length - 1]!.position + 1;
  }
  return { replayed, rate: replayed / ((performance.now() - r0) / 1000) };
};

const timeReplay = async (store: AllReader): Promise<{ replayed: number; rates: number[] }> => {
  const rates: number[] = [];
  let replayed = 0;
  for (let pass = 0; pass < 3; pass++) {
    const result = await replayPass(store);
    replayed = result.replayed;
    rates.push(result.rate);
  }
  return { replayed, rates: rates.sort((a, b) => a - b) };
};

/**
 * The CPU limit of a replay: each record's JSON decoded from bytes in memory and parsed, once,
 * as a replay must (no reading, no index, no objects built around it). All records rather than
 * a small sample parsed over and over: a sample that fits the CPU's cache parses about 1.15× as
 * fast (measured here, 2026-11-30) and overstates the limit. The bytes live outside the heap,
 * as the log's own do, so they do not slow the collector of the replay measured beside them.
 */
const parseCeilingPass = (texts: Buffer, ends: Float64Array): number => {
  const p0 = performance.now();
  let parsed = 0;
  for (let i = 0, start = 0; i < ends.length; start = ends[i++]!)
    parsed += JSON.parse(texts.toString('utf8', start, ends[i]!)) ? 1 : 0;
  return parsed / ((performance.now() - p0) / 1000);
};

const middle = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (n: number): string => `${fmt(n, 2)}×`;
const writersName = (writers: number): string => `${writers} writer${writers === 1 ? '' : 's'}`;

export type Section = 'build' | 'startup' | 'appends' | 'peer-build' | 'peer-replay' | 'peer-appends';

/** A section's figures by key (the run puts them in order) and its raw numbers, for the ratios. */
export interface SectionResult {
  readonly figures: Record<string, Figure>;
  readonly values: Record<string, number>;
}

/** Where the sections keep the 1,000,000 events: the embedded log, and the SQLite peer's copy of it. */
export interface BigDirs {
  readonly log: string;
  readonly sqlite: string;
}

/**
 * Shorter runs while developing: BENCH_EVENTSTORE_EVENTS (default 1,000,000) and
 * BENCH_EVENTSTORE_SECONDS (per append load, default 3). The defaults are the measurement.
 */
const envNumber = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

/** One section in this process; `benchEventStore` runs each in a fresh one. */
export const benchSection = async (
  section: Section,
  big: BigDirs,
  options: { seconds?: number; openEvents?: number } = {},
): Promise<SectionResult> => {
  const seconds = options.seconds ?? envNumber('BENCH_EVENTSTORE_SECONDS', 3);
  const openEvents = options.openEvents ?? envNumber('BENCH_EVENTSTORE_EVENTS', 1_000_000);
  const dir = await mkdtemp(join(tmpdir(), 'bench-eventstore-'));
  const figures: Record<string, Figure> = {};
  const values: Record<string, number> = {};
  try {
    if (section === 'build') {
      // A log of `openEvents` events, written in large batches by one process...
      const store = await openEmbeddedEventStore({ dataDir: big.log });
      const batch = 2000;
      for (let written = 0; written < openEvents; written += batch) {
        await store.appendToStream(
          `big-${(written / batch) % 1000}`,
          Array.from({ length: Math.min(batch, openEvents - written) }, (_, i) => sampleEvent(written + i)),
        );
      }
      await store.close();
    } else if (section === 'peer-build') {
      // The same events, copied from the log into the peer (same ids, streams, revisions, positions
      // and JSON text), 10,000 to a transaction.
      const log = await openEmbeddedEventStore({ dataDir: big.log });
      const peer = openSqlitePeer(big.sqlite);
      for (let from = 0; ;) {
        const page = await log.readAll({ fromPosition: from, maxCount: 10_000 });
        if (page.length === 0) break;
        const appends: Promise<unknown>[] = [];
        for (let i = 0; i < page.length;) {
          let j = i;
          while (j < page.length && page[j]!.stream === page[i]!.stream) j++;
          appends.push(peer.appendToStream(page[i]!.stream, page.slice(i, j)));
          i = j;
        }
        await Promise.all(appends);
        from = page[page.length - 1]!.position + 1;
      }
      await peer.close();
      await log.close();
    } else if (section === 'startup') {
      // ...opened and replayed by a freshly started one, as after a gateway restart.
      const t0 = performance.now();
      const reopened = await openEmbeddedEventStore({ dataDir: big.log });
      const openSeconds = (performance.now() - t0) / 1000;
      figures['open'] = {
        name: `open + index of ${fmt(openEvents)} events`,
        value: `${fmt(openSeconds, 2)} s`,
        target: '≤ 3 s',
        met: openSeconds <= 3,
      };

      const texts: Buffer[] = [];
      for (let from = 0; ;) {
        const page = await reopened.readAll({ fromPosition: from, maxCount: 10_000 });
        if (page.length === 0) break;
        for (const event of page)
          texts.push(Buffer.from(JSON.stringify([event.id, event.type, event.data, event.metadata])));
        from = page[page.length - 1]!.position + 1;
      }
      const ends = new Float64Array(texts.length);
      texts.reduce((end, text, i) => (ends[i] = end + text.length), 0);
      const allTexts = Buffer.concat(texts);
      texts.length = 0;
      // Replay and ceiling taken in turns, so that the machine's drift shows in both.
      const rates: number[] = [];
      const parseRates: number[] = [];
      let replayed = 0;
      for (let pass = 0; pass < 3; pass++) {
        const result = await replayPass(reopened);
        replayed = result.replayed;
        rates.push(result.rate);
        parseRates.push(parseCeilingPass(allTexts, ends));
      }
      const median = middle(rates);
      values['replay'] = median;
      const sorted = [...rates].sort((a, b) => a - b);
      figures['replay'] = {
        name: `full replay of $all in pages of 1,000 (${fmt(replayed)} events, parsed), median of 3`,
        value: `${fmt(median)} events/s (${fmt(sorted[0]!)}–${fmt(sorted[2]!)})`,
        target: '≥ 650,000 events/s',
        met: median >= 650_000,
      };
      values['parse'] = middle(parseRates);
      values['ceiling-ratio'] = middle(rates.map((rate, i) => rate / parseRates[i]!));
      figures['parse'] = {
        name: `UTF-8 decoding and JSON.parse of the same ${fmt(replayed)} records, each once, from memory (CPU limit of a replay), median of 3`,
        value: `${fmt(values['parse'])} events/s`,
        target: '—',
        met: undefined,
      };

      // The way projections and process managers catch up at start: a $all subscription, one event per iteration.
      const [lastEvent] = await reopened.readAll({ direction: 'backwards', maxCount: 1 });
      const r0 = performance.now();
      let delivered = 0;
      const subscription = reopened.subscribeToAll();
      for await (const event of subscription) {
        touch(event);
        delivered++;
        if (event.position === lastEvent!.position) break;
      }
      await subscription.stop();
      const rate = delivered / ((performance.now() - r0) / 1000);
      figures['subscription'] = {
        name: `  the same through a $all subscription (for await per event)`,
        value: `${fmt(rate)} events/s`,
        target: '—',
        met: checksum >= 0 ? undefined : false,
      };
      await reopened.close();
    } else if (section === 'peer-replay') {
      const peer = openSqlitePeer(big.sqlite);
      const { replayed, rates } = await timeReplay(peer);
      values['replay'] = rates[1]!;
      figures['replay'] = {
        name: `  SQLite peer: the same replay (${fmt(replayed)} events, by position, parsed)`,
        value: `${fmt(rates[1]!)} events/s (${fmt(rates[0]!)}–${fmt(rates[2]!)})`,
        target: '—',
        met: checksum >= 0 ? undefined : false,
      };
      await peer.close();
    } else {
      const peer = section === 'peer-appends';
      if (!peer) {
        const syncs = fdatasyncRate(dir, 'overwrite');
        figures['ceiling'] = {
          name: '  1 writer: physical ceiling (one fdatasync per append, over zeros)',
          value: `${fmt(syncs)} events/s`,
          target: '—',
          met: undefined,
        };
      }
      const store = peer
        ? openSqlitePeer(join(dir, 'sqlite'))
        : await openEmbeddedEventStore({ dataDir: join(dir, 'load') });
      // A second of unmeasured appends first, for each store alike: in a fresh process the first
      // ones run before the JIT has compiled the append path and would be the slowest percent.
      await appendLoad(store, 1, 1);
      for (const writers of [1, 16, 64]) {
        const { rate, p50, p99 } = await appendLoad(store, writers, seconds);
        Object.assign(values, { [`rate-${writers}`]: rate, [`p50-${writers}`]: p50, [`p99-${writers}`]: p99 });
        const value = `${fmt(rate)} events/s, p50 ${fmt(p50, 3)} ms, p99 ${fmt(p99, 3)} ms`;
        figures[`appends-${writers}`] = peer
          ? { name: `  SQLite peer, ${writersName(writers)}`, value, target: '—', met: undefined }
          : {
              name: `durable appends, ${writersName(writers)}`,
              value,
              target: writers === 64 ? '≥ 100,000 events/s' : writers === 1 ? 'p99 ≤ 2 ms' : '—',
              met: writers === 64 ? rate >= 100_000 : writers === 1 ? p99 <= 2 : undefined,
            };
      }
      await store.close();
      if (!peer) {
        // What each of the 1-writer path's two savings is worth: the same load without it.
        const without = [
          {
            key: 'pooled',
            options: { inlineLoneAppends: false },
            name: 'every write through the thread pool (inlineLoneAppends: false)',
          },
          {
            key: 'growing',
            options: { preallocateBytes: 0 },
            name: 'no zeros written ahead, each write grows the file (preallocateBytes: 0)',
          },
        ] as const;
        for (const { key, options, name } of without) {
          const other = await openEmbeddedEventStore({ dataDir: join(dir, key), ...options });
          const { rate, p50, p99 } = await appendLoad(other, 1, seconds);
          figures[key] = {
            name: `  1 writer, ${name}`,
            value: `${fmt(rate)} events/s, p50 ${fmt(p50, 3)} ms, p99 ${fmt(p99, 3)} ms`,
            target: '—',
            met: undefined,
          };
          await other.close();
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { figures, values };
};

/**
 * Each section runs in a fresh node process, as a freshly started gateway would: measured in
 * one process, whichever of replay and append load runs second is slowed by a third by what
 * the first left in the heap and the JIT. Each figure of the embedded store is measured beside
 * the same figure of a peer, an SQLite event store with its durable settings (./sqlite-peer.ts),
 * run right after it: this machine's speed varies by 3× between days and by half from minute
 * to minute, so the targets are ratios, taken in pairs measured a minute apart, and the
 * median of `BENCH_EVENTSTORE_ROUNDS` (default 3) pairs is the figure.
 */
export const benchEventStore = async (): Promise<Figure[]> => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-disk-'));
  const syncs = fdatasyncRate(dir);
  const overwrites = fdatasyncRate(dir, 'overwrite');
  await rm(dir, { recursive: true, force: true });
  const big: BigDirs = {
    log: await mkdtemp(join(tmpdir(), 'bench-log-')),
    sqlite: await mkdtemp(join(tmpdir(), 'bench-sqlite-')),
  };
  const rounds: Record<Section, SectionResult>[] = [];
  const run = async (section: Section): Promise<SectionResult> => {
    const { stdout } = await execFileAsync(
      process.execPath,
      [...process.execArgv, SECTION_RUNNER, section, big.log, big.sqlite],
      { maxBuffer: 1 << 20 },
    );
    return JSON.parse(stdout) as SectionResult;
  };
  try {
    const built = { build: await run('build'), 'peer-build': await run('peer-build') };
    for (let round = 0; round < envNumber('BENCH_EVENTSTORE_ROUNDS', 3); round++) {
      const startup = await run('startup');
      const peerReplay = await run('peer-replay');
      const appends = await run('appends');
      rounds.push({ ...built, startup, 'peer-replay': peerReplay, appends, 'peer-appends': await run('peer-appends') });
    }
  } finally {
    await rm(big.log, { recursive: true, force: true });
    await rm(big.sqlite, { recursive: true, force: true });
  }
  // The round whose replay ratio is the median stands for the absolute figures.
  const paired = (ratioOf: (round: Record<Section, SectionResult>) => number): { median: number; all: string } => {
    const ratios = rounds.map(ratioOf);
    const sorted = [...ratios].sort((x, y) => x - y);
    return { median: sorted[Math.floor(sorted.length / 2)]!, all: ratios.map((r) => fmt(r, 2)).join(', ') };
  };
  const replayRatio = paired((r) => r.startup.values['replay']! / r['peer-replay'].values['replay']!);
  const ceilingRatio = paired((r) => r.startup.values['ceiling-ratio']!);
  const shown = rounds.find(
    (r) => r.startup.values['replay']! / r['peer-replay'].values['replay']! === replayRatio.median,
  )!;
  const { startup, 'peer-replay': peerReplay } = shown;
  const figures: Figure[] = [
    {
      name: 'raw fdatasync rate of the data disk, growing a file (physical limit)',
      value: `${fmt(syncs)} /s (${fmt(1000 / syncs, 3)} ms each)`,
      target: '—',
      met: undefined,
    },
    {
      name: '  the same over zeros written beforehand',
      value: `${fmt(overwrites)} /s (${fmt(1000 / overwrites, 3)} ms each)`,
      target: '—',
      met: undefined,
    },
    startup.figures['open']!,
    startup.figures['replay']!,
    peerReplay.figures['replay']!,
    {
      name: `  embedded / SQLite, replay (median of ${rounds.length} pairs)`,
      value: `${ratio(replayRatio.median)} (${replayRatio.all})`,
      target: '≥ 1.2×',
      met: replayRatio.median >= 1.2,
    },
    startup.figures['parse']!,
    {
      name: `  replay / its CPU limit (median of ${rounds.length} runs of 3 pairs)`,
      value: `${ratio(ceilingRatio.median)} (${ceilingRatio.all})`,
      target: '≥ 0.8×',
      met: ceilingRatio.median >= 0.8,
    },
    startup.figures['subscription']!,
  ];
  for (const writers of [1, 16, 64]) {
    const rates = paired((r) => r.appends.values[`rate-${writers}`]! / r['peer-appends'].values[`rate-${writers}`]!);
    const p99s = paired((r) => r.appends.values[`p99-${writers}`]! / r['peer-appends'].values[`p99-${writers}`]!);
    const median = rounds.find(
      (r) => r.appends.values[`rate-${writers}`]! / r['peer-appends'].values[`rate-${writers}`]! === rates.median,
    )!;
    figures.push(median.appends.figures[`appends-${writers}`]!, median['peer-appends'].figures[`appends-${writers}`]!, {
      name: `  embedded / SQLite, ${writersName(writers)} (median of ${rounds.length} pairs)`,
      value: `${ratio(rates.median)} events/s (${rates.all}), p99 ${ratio(p99s.median)} (${p99s.all})`,
      target: writers === 64 ? '≥ 1.2× events/s' : writers === 1 ? "p99 ≤ SQLite's" : '—',
      met: writers === 64 ? rates.median >= 1.2 : writers === 1 ? p99s.median <= 1 : undefined,
    });
    if (writers === 1)
      figures.push(
        median.appends.figures['pooled']!,
        median.appends.figures['growing']!,
        median.appends.figures['ceiling']!,
      );
  }
  return figures;
};
