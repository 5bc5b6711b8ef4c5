import test from 'ava';
import { untilAborted } from '../../src/events/until-aborted.js';

/** An iterable like a subscription stuck waiting: yields what it has, then never settles (or fails late). */
const stuckAfter = <T>(values: readonly T[], lateFailure?: { fail: () => void }): AsyncIterable<T> => ({
  [Symbol.asyncIterator]: () => {
    let index = 0;
    return {
      next: () => {
        if (index < values.length) return Promise.resolve({ value: values[index++]!, done: false });
        return new Promise<IteratorResult<T>>((_, reject) => {
          if (lateFailure) lateFailure.fail = () => reject(new Error('late failure'));
        });
      },
    };
  },
});

test('values pass through until the signal aborts, and the loop ends even if the source is stuck', async (t) => {
  const controller = new AbortController();
  const seen: number[] = [];
  const loop = (async () => {
    for await (const value of untilAborted(stuckAfter([1, 2, 3]), controller.signal)) seen.push(value);
  })();
  while (seen.length < 3) await new Promise((resolve) => setImmediate(resolve));
  controller.abort();
  await loop;
  t.deepEqual(seen, [1, 2, 3]);
});

test('an already aborted signal yields nothing; a source that ends ends the loop', async (t) => {
  const aborted = AbortSignal.abort();
  const seen: number[] = [];
  for await (const value of untilAborted(stuckAfter([1]), aborted)) seen.push(value);
  t.deepEqual(seen, []);
  async function* finite() {
    yield 'a';
    yield 'b';
  }
  const all: string[] = [];
  for await (const value of untilAborted(finite(), new AbortController().signal)) all.push(value);
  t.deepEqual(all, ['a', 'b']);
});

test('a read that fails after the abort does not surface as an unhandled rejection', async (t) => {
  const controller = new AbortController();
  const late = { fail: () => undefined as void };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => process.off('unhandledRejection', onUnhandled));
  const loop = (async () => {
    for await (const _ of untilAborted(stuckAfter([], late), controller.signal)) t.fail();
  })();
  await new Promise((resolve) => setImmediate(resolve));
  controller.abort();
  await loop;
  late.fail();
  await new Promise((resolve) => setTimeout(resolve, 10));
  t.deepEqual(unhandled, []);
});

test('an abort while the caller holds a value ends the loop at the next step, even though the abort event has fired already', async (t) => {
  const controller = new AbortController();
  async function* endless() {
    for (let i = 0; ; i++) yield i;
  }
  const seen: number[] = [];
  for await (const value of untilAborted(endless(), controller.signal)) {
    seen.push(value);
    if (value === 2) controller.abort();
  }
  t.deepEqual(seen, [0, 1, 2]);
});
