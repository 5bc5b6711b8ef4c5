/**
 * How fast do the views rebuild at start-up? Folds a log of N events (1,000 streams) with the
 * stream catalog and the log summary through the projection runtime over the embedded store.
 *
 * Run: node --import tsx test/projections/replay-rate.bench.ts [events]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { logSummary } from '../../projections/log-summary.js';
import { streamCatalog } from '../../projections/stream-catalog.js';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { EventLog } from '../../src/events/event-log.js';
import { EventRegistry } from '../../src/events/registry.js';
import { DocumentProjectionRunner, ProjectionRunner } from '../../src/projections/runner.js';
import { counterEventDefinitions } from '../support/counter.js';

const EVENTS = Number(process.argv[2] ?? 200_000);
const dataDir = await mkdtemp(join(tmpdir(), 'projection-bench-'));
const store = await openEmbeddedEventStore({ dataDir });
const eventLog = new EventLog(store, new EventRegistry(counterEventDefinitions));
const context = { actor: 'bench', correlationId: 'b', causationId: 'b', now: new Date() };
const batch = Array.from({ length: 100 }, () => ({
  type: 'CounterIncremented',
  data: { by: 1, at: context.now.toISOString() },
}));
const writes: Promise<unknown>[] = [];
for (let written = 0; written < EVENTS; written += batch.length) {
  writes.push(
    eventLog.append(`counter-${(written / batch.length) % 1000}`, batch, { expectedRevision: 'any', context }),
  );
  if (writes.length >= 64) await Promise.all(writes.splice(0));
}
await Promise.all(writes);

for (const [label, runner] of [
  ['stream catalog (documents)', new DocumentProjectionRunner(streamCatalog, { eventLog })],
  ['log summary (fold)', new ProjectionRunner(logSummary, { eventLog })],
] as const) {
  const started = performance.now();
  await runner.start();
  await runner.waitForPosition(EVENTS - 1, 600_000);
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  console.log(
    `${label.padEnd(28)} ${EVENTS} events in ${seconds.toFixed(2)} s = ${Math.round(EVENTS / seconds)} events/s`,
  );
}
await store.close();
await rm(dataDir, { recursive: true, force: true });
