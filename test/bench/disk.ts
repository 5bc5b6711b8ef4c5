import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { EventStoreUnavailableError, type EventToAppend } from '../../src/eventstore/port.js';
import { mountSmallDisk, resizeSmallDisk, SMALL_DISK_SKIP_REASON, smallDisksAvailable } from '../support/small-disk.js';
import type { Figure } from './eventstore.js';

/**
 * `npm run bench -- disk` (root: it mounts real tmpfs volumes): the embedded log fills a small
 * disk for real, the volume grows, and the time until the store is ready again is measured,
 * with no append asking and no restart. Repeated on fresh volumes; beside it, the store's probe
 * interval, which bounds the wait (a write to tmpfs takes microseconds).
 */
const ROUNDS = 10;
const PROBE_INTERVAL_MS = 1000;

const event = (n: number): EventToAppend => ({
  id: randomUUID(),
  type: 'Filled',
  data: { n, pad: 'x'.repeat(200) },
  metadata: { actor: 'bench' },
});

export const benchDisk = async (): Promise<Figure[]> => {
  if (!smallDisksAvailable)
    return [{ name: 'recovery after space returns', value: SMALL_DISK_SKIP_REASON, target: '—', met: undefined }];
  const recoveries: number[] = [];
  const refusals: number[] = [];
  let lost = 0;
  let acknowledgedTotal = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const teardowns: (() => void)[] = [];
    try {
      const disk = mountSmallDisk({ teardown: (fn) => void teardowns.push(fn as () => void) }, 256 * 1024);
      const dataDir = join(disk, 'events');
      const store = await openEmbeddedEventStore({ dataDir, recoveryIntervalMs: PROBE_INTERVAL_MS });
      const acknowledged: string[] = [];
      for (let n = 0; ; n++) {
        const next = event(n);
        const started = performance.now();
        try {
          await store.appendToStream(`fill-${n % 4}`, [next]);
          acknowledged.push(next.id);
        } catch (error) {
          if (!(error instanceof EventStoreUnavailableError)) throw error;
          refusals.push(performance.now() - started);
          break;
        }
      }
      resizeSmallDisk(disk, 8 * 1024 * 1024);
      const grown = performance.now();
      while (
        !(await store.checkHealth().then(
          () => true,
          () => false,
        ))
      )
        await new Promise((resolve) => setTimeout(resolve, 2));
      recoveries.push(performance.now() - grown);
      await store.appendToStream('after', [event(-1)]);
      await store.close();
      const reopened = await openEmbeddedEventStore({ dataDir });
      const present = new Set((await reopened.readAll()).map((stored) => stored.id));
      lost += acknowledged.filter((id) => !present.has(id)).length;
      acknowledgedTotal += acknowledged.length;
      await reopened.close();
    } finally {
      for (const teardown of teardowns.reverse()) teardown();
    }
  }
  const sorted = [...recoveries].sort((a, b) => a - b);
  return [
    {
      name: 'rounds (256 KiB tmpfs filled, grown to 8 MiB)',
      value: `${ROUNDS}, ${acknowledgedTotal} events acknowledged in all`,
      target: '—',
      met: undefined,
    },
    { name: 'acknowledged events lost (after a reopen)', value: String(lost), target: '0', met: lost === 0 },
    {
      name: 'refusal of the append that found the disk full',
      value: `max ${Math.max(...refusals).toFixed(1)} ms`,
      target: '—',
      met: undefined,
    },
    {
      name: 'ready again after space returned (no append, no restart)',
      value: `p50 ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms, max ${sorted[sorted.length - 1]!.toFixed(0)} ms`,
      target: `≤ 2 s (bound: the probe every ${PROBE_INTERVAL_MS} ms)`,
      met: sorted[sorted.length - 1]! <= 2000,
    },
  ];
};
