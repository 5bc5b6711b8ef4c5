import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { untilAborted } from '../../src/events/until-aborted.js';

/**
 * The gateway's projections and process managers read the log through `untilAborted` for as long
 * as the process lives. What they have been handed must not stay reachable through it: otherwise
 * every event ever appended stays in memory until a restart, and any client that can append
 * events (every command does) grows the heap without bound. The soak benchmark showed the heap
 * after GC growing with every session; a heap snapshot traced the growth to `untilAborted`.
 */

// ava runs without --expose-gc: the flag is set at run time to collect garbage on demand.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

test('a live subscription does not keep the events it has already delivered', async (t) => {
  const DELIVERED = 1_000;
  const delivered: WeakRef<object>[] = [];
  /** A subscription that delivers events, then stays open waiting for the next, as a live one does. */
  async function* subscription(): AsyncGenerator<object> {
    for (let index = 0; index < DELIVERED; index++) {
      const event = { index, data: 'x'.repeat(1_000) };
      delivered.push(new WeakRef(event));
      yield event;
    }
    await new Promise(() => undefined);
  }
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  const iterator = untilAborted(subscription(), controller.signal)[Symbol.asyncIterator]();
  for (let index = 0; index < DELIVERED; index++) await iterator.next();
  // Still subscribed (not aborted), as a projection is: only what the loop holds now may stay.
  collectGarbage();
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  const reachable = delivered.filter((reference) => reference.deref() !== undefined).length;
  t.true(
    reachable <= 2,
    `${reachable} of ${DELIVERED} delivered events are still reachable from the subscription loop`,
  );
});
