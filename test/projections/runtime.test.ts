import test, { type ExecutionContext } from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import { logSummary } from '../../projections/log-summary.js';
import { streamCatalog } from '../../projections/stream-catalog.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import type { EventLog } from '../../src/events/event-log.js';
import { PositionTimeoutError, SubscriberStoppedError } from '../../src/projections/position-tracker.js';
import type { DocumentProjection } from '../../src/projections/projection.js';
import {
  DocumentProjectionRunner,
  ProjectionFailedError,
  ProjectionRunner,
  type ProjectionRunnerOptions,
} from '../../src/projections/runner.js';
import { waitErrorToProblem } from '../../src/api/wait-problem.js';
import { counterDecider, counterEventDefinitions, type CounterEvent } from '../support/counter.js';
import { openTestEventLog, testContext } from '../support/test-store.js';

const now = new Date('2030-01-01T10:00:00.000Z');

const open = (eventLog: EventLog, id: string) =>
  handleCommand(eventLog, `counter-${id}`, counterDecider, { type: 'open', id, limit: 100 }, testContext());
const increment = (eventLog: EventLog, id: string, by = 1) =>
  handleCommand(eventLog, `counter-${id}`, counterDecider, { type: 'increment', by, now }, testContext());

/** The counters as a read model: one document per counter with its value. */
const counterValues: DocumentProjection<{ id: string; value: number }> = {
  name: 'counter-values',
  documentIdsOf: (stored) => (stored.stream.startsWith('counter-') ? [stored.stream.slice('counter-'.length)] : []),
  evolve: (document, stored, id) => {
    const event = stored.event as CounterEvent;
    switch (event.type) {
      case 'CounterOpened':
        return { id, value: 0 };
      case 'CounterIncremented':
        return document && { ...document, value: document.value + event.data.by };
      case 'CounterClosed':
        return undefined;
    }
  },
};

const setUp = async (t: ExecutionContext) => openTestEventLog(t, counterEventDefinitions);

const documents = (t: ExecutionContext, eventLog: EventLog, options: Partial<ProjectionRunnerOptions> = {}) => {
  const runner = new DocumentProjectionRunner(counterValues, { eventLog, ...options });
  t.teardown(() => runner.stop());
  return runner;
};

test('a view started on an existing log catches up with it', async (t) => {
  const { eventLog } = await setUp(t);
  await open(eventLog, 'a');
  await increment(eventLog, 'a', 2);
  await open(eventLog, 'b');
  const catalog = new DocumentProjectionRunner(streamCatalog, { eventLog });
  const summary = new ProjectionRunner(logSummary, { eventLog });
  t.teardown(() => Promise.all([catalog.stop(), summary.stop()]));
  await Promise.all([catalog.start(), summary.start()]);
  await Promise.all([catalog.waitUntilCaughtUp(10_000), summary.waitUntilCaughtUp(10_000)]);
  t.deepEqual([...catalog.getState().keys()], ['counter-a', 'counter-b']);
  t.like(catalog.get('counter-a'), { revision: 1, event_count: 2, last_event_type: 'CounterIncremented' });
  t.is(catalog.size, 2);
  t.like(summary.getState(), {
    event_count: 3,
    last_position: 2,
    events_by_type: { CounterOpened: 2, CounterIncremented: 1 },
  });
  t.is(summary.status, 'running');
});

test('a read right after a command waits for the command’s position and sees the write', async (t) => {
  const { eventLog } = await setUp(t);
  const view = documents(t, eventLog);
  await view.start();
  await open(eventLog, 'a');
  for (let i = 1; i <= 20; i++) {
    const result = await increment(eventLog, 'a');
    if (E.isLeft(result)) return t.fail();
    await view.waitForPosition(result.right.position!, 10_000);
    t.is(view.get('a')?.value, i, `read ${i} sees write ${i}`);
  }
  const closed = await handleCommand(eventLog, 'counter-a', counterDecider, { type: 'close', now }, testContext());
  if (E.isLeft(closed)) return t.fail();
  await view.waitForPosition(closed.right.position!, 10_000);
  t.is(view.get('a'), undefined, 'a document can be deleted');
});

test('waiting for a position not yet written times out; the API maps it to 503', async (t) => {
  const { eventLog } = await setUp(t);
  const view = documents(t, eventLog);
  await view.start();
  const error = await t.throwsAsync(view.waitForPosition(5, 1), { instanceOf: PositionTimeoutError });
  t.regex(error?.message ?? '', /projection counter-values did not reach position 5 within 1 ms \(it is at -1\)/);
  const problem = waitErrorToProblem(error);
  t.is(problem?.status, 503);
  t.is(problem?.headers['Retry-After'], '1');
  t.is(waitErrorToProblem(new Error('other')), undefined);
});

test('a fold that throws stops the view at its last good state and makes waiting fail until restarted', async (t) => {
  const { eventLog } = await setUp(t);
  const errors: unknown[] = [];
  let broken = true;
  const fragile = new ProjectionRunner(
    {
      name: 'fragile',
      initialState: () => 0,
      evolve: (count, stored) => {
        if (broken && (stored.event as CounterEvent).type === 'CounterIncremented')
          throw new Error('cannot count that');
        return count + 1;
      },
    },
    { eventLog, onError: (_name, error) => errors.push(error) },
  );
  t.teardown(() => fragile.stop());
  await fragile.start();
  const opened = await open(eventLog, 'a');
  if (E.isLeft(opened)) return t.fail();
  await fragile.waitForPosition(opened.right.position!, 10_000);
  const incremented = await increment(eventLog, 'a');
  if (E.isLeft(incremented)) return t.fail();
  const failure = await t.throwsAsync(fragile.waitForPosition(incremented.right.position!, 10_000), {
    instanceOf: ProjectionFailedError,
  });
  t.is(failure?.message, 'projection fragile failed at position 1: cannot count that');
  t.is(fragile.status, 'failed');
  t.is(fragile.getState(), 1, 'the last good state stays readable');
  t.is(errors.length, 1);
  t.is(waitErrorToProblem(failure)?.status, 503);
  await t.throwsAsync(fragile.waitForPosition(incremented.right.position!, 10_000), {
    instanceOf: ProjectionFailedError,
  });

  await fragile.stop();
  broken = false;
  await fragile.start();
  await fragile.waitForPosition(incremented.right.position!, 10_000);
  t.is(fragile.getState(), 2);
  t.is(fragile.status, 'running');
});

test('stop() ends waits; start() resumes where it stopped without counting anything twice', async (t) => {
  const { eventLog } = await setUp(t);
  const summary = new ProjectionRunner(logSummary, { eventLog });
  t.teardown(() => summary.stop());
  await summary.start();
  await open(eventLog, 'a');
  await summary.waitUntilCaughtUp(10_000);
  const pending = summary.waitForPosition(100, 60_000);
  await summary.stop();
  t.is(summary.status, 'stopped');
  await t.throwsAsync(pending, { instanceOf: SubscriberStoppedError });
  t.is(waitErrorToProblem(new SubscriberStoppedError('x'))?.status, 503);

  await increment(eventLog, 'a');
  await summary.start();
  await summary.waitUntilCaughtUp(10_000);
  t.like(summary.getState(), { event_count: 2, events_by_type: { CounterOpened: 1, CounterIncremented: 1 } });
});

test('lag is reported until the view has caught up', async (t) => {
  const { eventLog } = await setUp(t);
  for (const id of ['a', 'b', 'c']) await open(eventLog, id);
  let caughtUp!: () => void;
  const zero = new Promise<void>((resolve) => (caughtUp = resolve));
  const lags: number[] = [];
  const view = documents(t, eventLog, {
    lagIntervalMs: 2,
    onLag: (name, lag) => {
      t.is(name, 'counter-values');
      lags.push(lag);
      if (lag === 0) caughtUp();
    },
  });
  t.is(await view.lag(), 3);
  await view.start();
  await zero;
  t.true(lags.every((lag) => lag >= 0 && lag <= 3));
  t.is(await view.lag(), 0);
});
