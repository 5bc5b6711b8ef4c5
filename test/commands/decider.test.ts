import test from 'ava';
import { foldEvents } from '../../src/commands/decider.js';
import { counterDecider, type CounterEvent } from '../support/counter.js';
import { deciderSpec } from '../support/decider-spec.js';

const spec = deciderSpec(counterDecider);
const now = new Date('2030-01-01T10:00:00.000Z');
const opened: CounterEvent = { type: 'CounterOpened', data: { counter_id: 'c1', limit: 5 } };
const incremented = (by: number): CounterEvent => ({ type: 'CounterIncremented', data: { by, at: now.toISOString() } });

test('a new counter opens', (t) => {
  spec.given([]).when({ type: 'open', id: 'c1', limit: 5 }).then(t, [opened]);
});

test('opening an existing counter is a conflict naming its state', (t) => {
  spec
    .given([opened])
    .when({ type: 'open', id: 'c1', limit: 9 })
    .thenFails(t, { kind: 'conflict', state: 'open', detail: 'counter c1 already exists' });
});

test('incrementing an unknown counter: not found', (t) => {
  spec.given([]).when({ type: 'increment', by: 1, now }).thenFails(t, { kind: 'not_found', detail: 'no such counter' });
});

test('incrementing within the limit records the time given with the command', (t) => {
  spec
    .given([opened, incremented(2)])
    .when({ type: 'increment', by: 3, now })
    .then(t, [incremented(3)]);
});

test('incrementing past the limit or by a bad amount is refused', (t) => {
  spec
    .given([opened, incremented(4)])
    .when({ type: 'increment', by: 2, now })
    .thenFails(t, {
      kind: 'conflict',
      state: 'open',
      detail: 'counter c1 would pass its limit 5',
    });
  spec
    .given([opened])
    .when({ type: 'increment', by: 0, now })
    .thenFails(t, {
      kind: 'invalid',
      detail: 'the request is not valid',
      errors: [{ path: 'by', message: 'must be a positive integer' }],
    });
});

test('a closed counter refuses increments and closing again changes nothing', (t) => {
  const closed: CounterEvent = { type: 'CounterClosed', data: { at: now.toISOString() } };
  spec
    .given([opened, closed])
    .when({ type: 'increment', by: 1, now })
    .thenFails(t, { kind: 'conflict', state: 'closed', detail: 'counter c1 is closed' });
  spec.given([opened, closed]).when({ type: 'close', now }).then(t, []);
});

test('foldEvents replays a history into state', (t) => {
  t.deepEqual(foldEvents(counterDecider, [opened, incremented(2), incremented(1)]), {
    status: 'open',
    id: 'c1',
    value: 3,
    limit: 5,
  });
  t.deepEqual(foldEvents(counterDecider, []), { status: 'absent' });
});
