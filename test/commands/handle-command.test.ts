import test from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from '../../src/commands/decider.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import { EventLog } from '../../src/events/event-log.js';
import {
  counterDecider,
  counterEventDefinitions,
  type CounterCommand,
  type CounterEvent,
  type CounterState,
} from '../support/counter.js';
import { openTestEventLog, testContext } from '../support/test-store.js';

const now = new Date('2030-01-01T10:00:00.000Z');
const open = (limit = 100): CounterCommand => ({ type: 'open', id: 'c1', limit });
const increment = (by = 1): CounterCommand => ({ type: 'increment', by, now });

const setUp = async (t: Parameters<typeof openTestEventLog>[0]) => openTestEventLog(t, counterEventDefinitions);

/** The counter decider, but the first decision lets another writer append to the stream first. */
const interruptedOnce = (intrude: () => void): Decider<CounterCommand, CounterEvent, CounterState> => {
  let intruded = false;
  return {
    ...counterDecider,
    decide: (command, state) => {
      if (!intruded) {
        intruded = true;
        intrude();
      }
      return counterDecider.decide(command, state);
    },
  };
};

test('a command is decided against the folded stream and its events appended with the context', async (t) => {
  const { eventLog } = await setUp(t);
  const opened = await handleCommand(eventLog, 'counter-c1', counterDecider, open(5), testContext());
  if (E.isLeft(opened)) return t.fail(JSON.stringify(opened.left));
  t.is(opened.right.revision, 0);
  t.deepEqual(opened.right.state, { status: 'open', id: 'c1', value: 0, limit: 5 });

  const context = testContext({ actor: 'slack', correlationId: 'req-9', causationId: 'req-9' });
  const result = await handleCommand(eventLog, 'counter-c1', counterDecider, increment(2), context, {
    eventIds: ['0d0f6a2e-0000-4000-8000-000000000009'],
  });
  if (E.isLeft(result)) return t.fail(JSON.stringify(result.left));
  t.deepEqual(result.right.events, [
    {
      id: '0d0f6a2e-0000-4000-8000-000000000009',
      stream: 'counter-c1',
      revision: 1,
      event: { type: 'CounterIncremented', data: { by: 2, at: now.toISOString() } },
    },
  ]);
  t.deepEqual(result.right.state, { status: 'open', id: 'c1', value: 2, limit: 5 });
  t.is(result.right.revision, 1);

  const stored = await eventLog.readStream('counter-c1');
  t.is(stored.length, 2);
  t.is(stored[1]!.id, '0d0f6a2e-0000-4000-8000-000000000009');
  t.is(stored[1]!.position as number | null, result.right.position);
  t.like(stored[1]!.metadata, { actor: 'slack', correlation_id: 'req-9', causation_id: 'req-9' });
});

test('a refused command appends nothing and says why', async (t) => {
  const { eventLog, testStore } = await setUp(t);
  const missing = await handleCommand(eventLog, 'counter-c1', counterDecider, increment(), testContext());
  t.deepEqual(missing, E.left({ kind: 'not_found', detail: 'no such counter' }));
  await handleCommand(eventLog, 'counter-c1', counterDecider, open(1), testContext());
  const tooMuch = await handleCommand(eventLog, 'counter-c1', counterDecider, increment(2), testContext());
  t.deepEqual(tooMuch, E.left({ kind: 'conflict', state: 'open', detail: 'counter c1 would pass its limit 1' }));
  t.is((await testStore.store.readAll()).length, 1);
});

test('a decision with no events appends nothing and answers the current revision and position', async (t) => {
  const { eventLog, testStore } = await setUp(t);
  await handleCommand(eventLog, 'other', counterDecider, open(), testContext());
  await handleCommand(eventLog, 'counter-c1', counterDecider, open(), testContext());
  await handleCommand(eventLog, 'counter-c1', counterDecider, { type: 'close', now }, testContext());
  const again = await handleCommand(eventLog, 'counter-c1', counterDecider, { type: 'close', now }, testContext());
  if (E.isLeft(again)) return t.fail(JSON.stringify(again.left));
  t.deepEqual(again.right, { events: [], state: { status: 'closed', id: 'c1', value: 0 }, revision: 1, position: 2 });
  t.is((await testStore.store.readAll()).length, 3);
});

test('If-Match: the current revision proceeds, any other answers 412 and appends nothing', async (t) => {
  const { eventLog, testStore } = await setUp(t);
  await handleCommand(eventLog, 'counter-c1', counterDecider, open(), testContext());
  const stale = await handleCommand(eventLog, 'counter-c1', counterDecider, increment(), testContext(), {
    expectedRevision: 4,
  });
  t.deepEqual(
    stale,
    E.left({ kind: 'precondition_failed', stream: 'counter-c1', expectedRevision: 4, actualRevision: 0 }),
  );
  const missing = await handleCommand(eventLog, 'counter-other', counterDecider, increment(), testContext(), {
    expectedRevision: 0,
  });
  t.deepEqual(
    missing,
    E.left({ kind: 'precondition_failed', stream: 'counter-other', expectedRevision: 0, actualRevision: -1 }),
  );
  t.is((await testStore.store.readAll()).length, 1);

  const current = await handleCommand(eventLog, 'counter-c1', counterDecider, increment(), testContext(), {
    expectedRevision: 0,
  });
  t.true(E.isRight(current));
  t.is((await testStore.store.readStream('counter-c1')).length, 2);
});

test('If-Match: a write landing between read and append answers 412, not a silent retry', async (t) => {
  const { eventLog, testStore, registry } = await setUp(t);
  await handleCommand(eventLog, 'counter-c1', counterDecider, open(), testContext());
  const otherProcess = new EventLog(testStore.store, registry);
  const decider = interruptedOnce(() => {
    void otherProcess.append('counter-c1', [{ type: 'CounterIncremented', data: { by: 7, at: now.toISOString() } }], {
      expectedRevision: 0,
      context: testContext({ actor: 'other' }),
    });
  });
  const result = await handleCommand(eventLog, 'counter-c1', decider, increment(), testContext(), {
    expectedRevision: 0,
  });
  t.deepEqual(
    result,
    E.left({ kind: 'precondition_failed', stream: 'counter-c1', expectedRevision: 0, actualRevision: 1 }),
  );
  const stored = await eventLog.readStream<CounterEvent>('counter-c1');
  t.deepEqual(
    stored.map((event) => event.metadata.actor),
    ['tester', 'other'],
  );
});

test('without If-Match, a write landing between read and append is absorbed: re-read, re-decide, append', async (t) => {
  const { eventLog, testStore, registry } = await setUp(t);
  await handleCommand(eventLog, 'counter-c1', counterDecider, open(), testContext());
  const otherProcess = new EventLog(testStore.store, registry);
  const decider = interruptedOnce(() => {
    void otherProcess.append('counter-c1', [{ type: 'CounterIncremented', data: { by: 7, at: now.toISOString() } }], {
      expectedRevision: 0,
      context: testContext({ actor: 'other' }),
    });
  });
  const result = await handleCommand(eventLog, 'counter-c1', decider, increment(2), testContext());
  if (E.isLeft(result)) return t.fail(JSON.stringify(result.left));
  t.is(result.right.revision, 2);
  t.deepEqual(result.right.state, { status: 'open', id: 'c1', value: 9, limit: 100 });
});

test('with no retries left, a lost race answers `contended`', async (t) => {
  const { eventLog, testStore, registry } = await setUp(t);
  await handleCommand(eventLog, 'counter-c1', counterDecider, open(), testContext());
  const otherProcess = new EventLog(testStore.store, registry);
  const decider = interruptedOnce(() => {
    void otherProcess.append('counter-c1', [{ type: 'CounterIncremented', data: { by: 7, at: now.toISOString() } }], {
      expectedRevision: 0,
      context: testContext(),
    });
  });
  const result = await handleCommand(eventLog, 'counter-c1', decider, increment(), testContext(), { maxRetries: 0 });
  t.deepEqual(result, E.left({ kind: 'contended', stream: 'counter-c1', attempts: 1 }));
});

test('a burst of compatible commands on one stream all succeed, none lost', async (t) => {
  const { eventLog } = await setUp(t);
  await handleCommand(eventLog, 'counter-c1', counterDecider, open(1000), testContext());
  const results = await Promise.all(
    Array.from({ length: 25 }, (_, i) =>
      handleCommand(eventLog, 'counter-c1', counterDecider, increment(i + 1), testContext()),
    ),
  );
  t.true(results.every(E.isRight));
  const stored = await eventLog.readStream<CounterEvent>('counter-c1');
  t.is(stored.length, 26);
  const total = stored.reduce((sum, { event }) => sum + (event.type === 'CounterIncremented' ? event.data.by : 0), 0);
  t.is(total, (25 * 26) / 2);
});

test('two writers (as two processes) racing on one stream both succeed when compatible', async (t) => {
  const { eventLog, testStore, registry } = await setUp(t);
  const other = new EventLog(testStore.store, registry);
  await handleCommand(eventLog, 'counter-c1', counterDecider, open(10), testContext());
  const [a, b] = await Promise.all([
    handleCommand(eventLog, 'counter-c1', counterDecider, increment(3), testContext()),
    handleCommand(other, 'counter-c1', counterDecider, increment(4), testContext()),
  ]);
  t.true(E.isRight(a!) && E.isRight(b!));
  const finalState = await handleCommand(eventLog, 'counter-c1', counterDecider, { type: 'close', now }, testContext());
  if (E.isLeft(finalState)) return t.fail(JSON.stringify(finalState.left));
  t.deepEqual(finalState.right.state, { status: 'closed', id: 'c1', value: 7 });
});

test('two writers racing when only one may win: one succeeds, the other gets the conflict of the new state', async (t) => {
  const { eventLog, testStore, registry } = await setUp(t);
  const other = new EventLog(testStore.store, registry);
  await handleCommand(eventLog, 'counter-c1', counterDecider, open(5), testContext());
  await handleCommand(eventLog, 'counter-c1', counterDecider, increment(4), testContext());
  const results = await Promise.all([
    handleCommand(eventLog, 'counter-c1', counterDecider, increment(1), testContext()),
    handleCommand(other, 'counter-c1', counterDecider, increment(1), testContext()),
  ]);
  t.is(results.filter(E.isRight).length, 1);
  const refused = results.find(E.isLeft);
  t.deepEqual(refused?.left, { kind: 'conflict', state: 'open', detail: 'counter c1 would pass its limit 5' });
  t.is((await testStore.store.readStream('counter-c1')).length, 3);
});

test('event ids may be derived from the decided events; a wrong count is a programming error', async (t) => {
  const { eventLog, testStore } = await setUp(t);
  const derived = await handleCommand(eventLog, 'counter-c1', counterDecider, open(), testContext(), {
    eventIds: (events) => events.map((_, i) => `7e0c3b5a-0000-4000-8000-00000000000${i}`),
  });
  if (E.isLeft(derived)) return t.fail();
  t.is(derived.right.events[0]!.id, '7e0c3b5a-0000-4000-8000-000000000000');
  await t.throwsAsync(
    handleCommand(eventLog, 'counter-c1', counterDecider, increment(), testContext(), { eventIds: ['a', 'b'] }),
    {
      message: '1 events were decided but 2 event ids given',
    },
  );
  t.is((await testStore.store.readAll()).length, 1);
});
