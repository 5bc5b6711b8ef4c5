import test from 'ava';
import {
  PositionTimeoutError,
  PositionTracker,
  SubscriberStoppedError,
} from '../../src/projections/position-tracker.js';

test('waiters resolve as soon as their position is processed, and not before', async (t) => {
  const tracker = new PositionTracker('view');
  const resolved: number[] = [];
  const waits = [5, 2, 9].map((position) => tracker.wait(position, 60_000).then(() => resolved.push(position)));
  tracker.advance(2);
  await Promise.resolve();
  t.deepEqual(resolved, [2]);
  tracker.advance(7);
  await Promise.resolve();
  t.deepEqual(resolved, [2, 5]);
  tracker.advance(9);
  await Promise.all(waits);
  t.deepEqual(resolved, [2, 5, 9]);
  await tracker.wait(3, 1);
  t.is(tracker.position, 9);
  tracker.advance(4);
  t.is(tracker.position, 9, 'the position never moves back');
});

test('a waiter gives up after its timeout with the positions in the message', async (t) => {
  const tracker = new PositionTracker('projection sessions', 3);
  const error = await t.throwsAsync(tracker.wait(8, 1), { instanceOf: PositionTimeoutError });
  t.is(error?.message, 'projection sessions did not reach position 8 within 1 ms (it is at 3)');
  t.like(error, { position: 8, reached: 3, timeoutMs: 1 });
});

test('rejectAll ends every wait with the given reason', async (t) => {
  const tracker = new PositionTracker('view');
  const waits = [tracker.wait(1, 60_000), tracker.wait(2, 60_000)];
  tracker.rejectAll(new SubscriberStoppedError('view'));
  for (const wait of waits) await t.throwsAsync(wait, { instanceOf: SubscriberStoppedError });
});
