import { randomUUID } from 'node:crypto';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';

/** Opens the store in the folder given, appends one event, says "open", and holds it until killed. */
const store = await openEmbeddedEventStore({ dataDir: process.argv[2]! });
await store.appendToStream('held', [{ id: randomUUID(), type: 'N', data: { n: 7 }, metadata: {} }]);
process.stdout.write('open\n');
setInterval(() => {}, 1 << 30);
