/**
 * Child process for crash.test.ts: runs a process manager over the embedded store in the given
 * folder. `run` keeps going until killed; `finish` processes everything there is, stops cleanly
 * and exits 0. Every reaction outcome is reported on stdout as `reaction <outcome>`.
 *
 * Usage: node --import tsx crash-child.ts <dataDir> <effectsLog> run|finish
 */
import { appendFileSync } from 'node:fs';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { EventLog } from '../../src/events/event-log.js';
import { EventRegistry } from '../../src/events/registry.js';
import { ProcessManagerRunner } from '../../src/process-managers/runner.js';
import { crashEventDefinitions, type CrashEvent } from './crash-events.js';

type Produce = { readonly kind: 'produce'; readonly n: number };

const main = async (): Promise<void> => {
  const [dataDir, effectsLog, mode] = process.argv.slice(2);
  if (!dataDir || !effectsLog || (mode !== 'run' && mode !== 'finish'))
    throw new Error('usage: crash-child.ts <dataDir> <effectsLog> run|finish');
  const store = await openEmbeddedEventStore({ dataDir });
  const eventLog = new EventLog(store, new EventRegistry(crashEventDefinitions));
  const runner = new ProcessManagerRunner<Produce>({
    eventLog,
    processManager: {
      name: 'crash',
      react: (stored) => {
        const event = stored.event as CrashEvent;
        if (event.type !== 'InputArrived') return [];
        return [
          {
            type: 'effect',
            key: `${stored.id}:produce`,
            stream: `output-${event.data.n % 7}`,
            effect: { kind: 'produce', n: event.data.n },
          },
        ];
      },
    },
    effects: {
      produce: async ({ n }) => {
        // The outside world sees the effect before the log records its outcome: the crash window.
        appendFileSync(effectsLog, `${n}\n`);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
        return [{ type: 'OutputProduced', data: { n } }];
      },
    },
    retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2, factor: 2 },
    checkpointEvery: 7,
    onReaction: (_name, _key, outcome) => process.stdout.write(`reaction ${outcome}\n`),
    onError: (_name, error) => process.stderr.write(`runner error: ${String(error)}\n`),
  });
  await runner.start();
  process.stdout.write('started\n');
  if (mode === 'run') return;

  for (;;) {
    const [head] = await store.readAll({ direction: 'backwards', maxCount: 1 });
    await runner.waitForPosition(head?.position ?? -1, 60_000);
    if ((await runner.lag()) === 0) break;
  }
  await runner.stop();
  await store.close();
  process.stdout.write('finished\n');
};

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
