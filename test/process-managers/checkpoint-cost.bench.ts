/**
 * How often should a process manager save its checkpoint? Measures events/s through a runner
 * over the embedded store for several `checkpointEvery` values, for a reactor that ignores every
 * event (pure checkpoint overhead) and one that appends one event per input (a typical PM).
 *
 * Run: node --import tsx test/process-managers/checkpoint-cost.bench.ts [events]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { EventLog } from '../../src/events/event-log.js';
import { EventRegistry } from '../../src/events/registry.js';
import type { ProcessManager } from '../../src/process-managers/process-manager.js';
import { ProcessManagerRunner } from '../../src/process-managers/runner.js';
import { crashEventDefinitions, type CrashEvent } from './crash-events.js';

const EVENTS = Number(process.argv[2] ?? 5000);

const measure = async (checkpointEvery: number, reacting: boolean): Promise<{ rate: number; saves: number }> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'pm-bench-'));
  const store = await openEmbeddedEventStore({ dataDir });
  const eventLog = new EventLog(store, new EventRegistry(crashEventDefinitions));
  const batch = Array.from({ length: 500 }, (_, i) => ({ type: 'InputArrived', data: { n: i } }));
  for (let written = 0; written < EVENTS; written += batch.length) {
    await eventLog.append(`input-${written}`, batch, {
      expectedRevision: 'any',
      context: { actor: 'bench', correlationId: 'b', causationId: 'b', now: new Date() },
    });
  }
  const processManager: ProcessManager = {
    name: 'bench',
    react: (stored) => {
      const event = stored.event as CrashEvent;
      if (!reacting || event.type !== 'InputArrived') return [];
      return [
        {
          type: 'append',
          key: stored.id,
          stream: `output-${event.data.n % 16}`,
          events: [{ type: 'OutputProduced', data: { n: event.data.n } }],
        },
      ];
    },
  };
  const runner = new ProcessManagerRunner({ eventLog, processManager, effects: {}, checkpointEvery });
  const started = performance.now();
  await runner.start();
  await runner.waitForPosition(EVENTS - 1, 600_000);
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  const saves = (await store.readStream(runner.checkpointStream)).length;
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
  return { rate: Math.round(EVENTS / seconds), saves };
};

console.log(`process-manager throughput over ${EVENTS} input events (embedded store, fdatasync per append)`);
for (const reacting of [false, true]) {
  for (const every of [1, 10, 100, 1000]) {
    const { rate, saves } = await measure(every, reacting);
    console.log(
      `${reacting ? 'one append per event' : 'no reactions        '}  checkpointEvery=${String(every).padEnd(5)} ${String(rate).padStart(8)} events/s  (${saves} checkpoint saves)`,
    );
  }
}
