import { createHash } from 'node:crypto';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { EventStoreUnavailableError, WrongExpectedRevisionError } from '../../src/eventstore/port.js';
import { FaultPlan, type WriteFault } from '../support/faulty-log-file.js';

/**
 * The process the crash campaign kills. Several writers append to their own streams at explicit
 * revisions, concurrently (so group commits are in flight when the kill lands), and print one
 * line per acknowledged append: `ack <stream> <revision> <id>`.
 *
 * Usage: `append-child.ts <dataDir> [writers=8] [faults]`. With the third argument `faults` the
 * log file also suffers faults (a `FaultPlan`): about one write in ten is cut short, fails with
 * ENOSPC or EIO after some bytes, or lands whole and fails its sync; now and then cutting the
 * failed bytes back fails too (EIO on truncate), so the store recovers on its timer. A refused
 * append (`EventStoreUnavailableError`) prints a line `fault` and is retried 1 ms later, as it
 * was (same ids, same expected revision). A store that has stopped for good (`fatalError()`)
 * ends the child like any other error.
 */
export const payloadFor = (stream: string, revision: number): { n: number; digest: string; pad: string } => ({
  n: revision,
  digest: createHash('sha256').update(`${stream}:${revision}`).digest('hex'),
  pad: 'x'.repeat(revision % 97),
});

export const idFor = (stream: string, revision: number): string => {
  const hex = createHash('sha256').update(`id:${stream}:${revision}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

/** About one write in ten fails, in one of the ways a disk fails; `random` is in [0, 1). */
const randomFaults =
  (plan: FaultPlan, random: () => number) =>
  (bytes: number): WriteFault | undefined => {
    if (random() >= 0.1) return undefined;
    const kind = random();
    if (kind < 0.25 && bytes >= 2) return { kind: 'short', bytes: 1 + Math.floor(random() * (bytes - 1)) };
    // Now and then the cut back of the failed bytes fails too, so the refusal waits for the timer.
    if (random() < 0.2) plan.failNext('truncate', 'EIO');
    if (kind < 0.65)
      return { kind: 'error', code: random() < 0.5 ? 'ENOSPC' : 'EIO', afterBytes: Math.floor(random() * bytes) };
    return { kind: 'sync', code: random() < 0.5 ? 'EIO' : 'ENOSPC' };
  };

const main = async (): Promise<void> => {
  const [dataDir, writersText, faultsText] = process.argv.slice(2);
  const faults = faultsText === 'faults';
  const plan = new FaultPlan();
  const store = await openEmbeddedEventStore(
    faults ? { dataDir: dataDir!, openFile: plan.opener, recoveryIntervalMs: 5 } : { dataDir: dataDir! },
  );
  // Faults start once the log is open: opening it is not what is under test here.
  if (faults) plan.random = randomFaults(plan, Math.random);
  const writers = Number(writersText ?? 8);
  process.stdout.write('ready\n');
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const stream = `crash-${w}`;
      const [head] = await store.readStream(stream, { direction: 'backwards', maxCount: 1 });
      let next = head ? head.revision + 1 : 0;
      for (;;) {
        const size = 1 + (next % 3);
        const events = Array.from({ length: size }, (_, i) => ({
          id: idFor(stream, next + i),
          type: 'CrashTestEvent',
          data: payloadFor(stream, next + i),
          metadata: { writer: w },
        }));
        for (;;) {
          try {
            await store.appendToStream(stream, events, { expectedRevision: next === 0 ? 'no_stream' : next - 1 });
            break;
          } catch (error) {
            if (error instanceof WrongExpectedRevisionError)
              throw new Error(`writer ${w} lost its own stream: ${error.message}`, { cause: error });
            if (!faults || !(error instanceof EventStoreUnavailableError)) throw error;
            // Refused for a file fault: the store recovers by itself; a stop for good is not retried.
            const fatal = store.fatalError();
            if (fatal) throw fatal;
            process.stdout.write('fault\n');
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        }
        for (let i = 0; i < size; i++) process.stdout.write(`ack ${stream} ${next + i} ${events[i]!.id}\n`);
        next += size;
      }
    }),
  );
};

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(3);
  });
}
