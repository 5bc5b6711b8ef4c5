import { createHash } from 'node:crypto';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { WrongExpectedRevisionError } from '../../src/eventstore/port.js';

/**
 * The process the crash campaign kills. Several writers append to their own streams at explicit
 * revisions, concurrently (so group commits are in flight when the kill lands), and print one
 * line per acknowledged append: `ack <stream> <revision> <id>`.
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

const main = async (): Promise<void> => {
  const [dataDir, writersText] = process.argv.slice(2);
  const store = await openEmbeddedEventStore({ dataDir: dataDir! });
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
        try {
          await store.appendToStream(stream, events, { expectedRevision: next === 0 ? 'no_stream' : next - 1 });
        } catch (error) {
          if (error instanceof WrongExpectedRevisionError) throw new Error(`writer ${w} lost its own stream: ${error.message}`);
          throw error;
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
