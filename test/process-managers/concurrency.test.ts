import test, { type ExecutionContext } from 'ava';
import { defineEvent, jsonCodec, type EventOf } from '../../src/events/domain-event.js';
import type { EventLog } from '../../src/events/event-log.js';
import { processManagerEventDefinitions, type ProcessManagerEvent } from '../../src/process-managers/events.js';
import type { ProcessManager } from '../../src/process-managers/process-manager.js';
import { ProcessManagerRunner, type ProcessManagerRunnerOptions } from '../../src/process-managers/runner.js';
import * as io from 'io-ts';
import { openTestEventLog, testContext } from '../support/test-store.js';

/**
 * Keyed concurrency: a job per `Asked` event, keyed by its lane (the stream its outcome goes to).
 * Lanes run side by side, at most `maxConcurrency` at a time; one lane runs in log order; the
 * runner's position (the low watermark) never passes a job that has not finished.
 */
const Asked = defineEvent('Asked', jsonCodec(io.type({ lane: io.string, n: io.number })));
const Done = defineEvent('Done', jsonCodec(io.type({ n: io.number })));
type LaneEvent = EventOf<typeof Asked> | EventOf<typeof Done>;
type Work = { readonly kind: 'work'; readonly lane: string; readonly n: number };

const lanes: ProcessManager<Work> = {
  name: 'lanes',
  react: (stored) => {
    const event = stored.event as LaneEvent;
    if (event.type !== 'Asked') return [];
    return [
      {
        type: 'effect',
        key: `${stored.id}:work`,
        stream: `lane-${event.data.lane}`,
        effect: { kind: 'work', lane: event.data.lane, n: event.data.n },
      },
    ];
  },
};

const setUp = async (t: ExecutionContext) => openTestEventLog(t, [Asked, Done, ...processManagerEventDefinitions]);

const ask = async (eventLog: EventLog, lane: string, n: number): Promise<number> =>
  (
    await eventLog.append(`asks-${lane}-${n}`, [{ type: 'Asked', data: { lane, n } }], {
      expectedRevision: 'no_stream',
      context: testContext(),
    })
  ).position;

const runner = (
  t: ExecutionContext,
  eventLog: EventLog,
  work: (effect: Work, signal: AbortSignal) => Promise<void>,
  overrides: Partial<ProcessManagerRunnerOptions<Work>> = {},
) => {
  const instance = new ProcessManagerRunner<Work>({
    eventLog,
    processManager: lanes,
    effects: {
      work: async (effect, context) => {
        await work(effect, context.signal);
        return [{ type: 'Done', data: { n: effect.n } }];
      },
    },
    retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2, factor: 2 },
    ...overrides,
  });
  t.teardown(() => instance.stop());
  return instance;
};

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

const doneIn = async (eventLog: EventLog, lane: string): Promise<number[]> =>
  (await eventLog.readStream(`lane-${lane}`)).map((stored) => (stored.event as LaneEvent & { type: 'Done' }).data.n);

test('a lane that is stuck does not hold up another: its work finishes while the first waits', async (t) => {
  const { eventLog } = await setUp(t);
  const stuck = gate();
  const pm = runner(t, eventLog, async (effect, signal) => {
    if (effect.lane === 'a')
      await Promise.race([
        stuck.opened,
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped')))),
      ]);
  });
  await pm.start();
  const first = await ask(eventLog, 'a', 1);
  await ask(eventLog, 'b', 1);
  await ask(eventLog, 'b', 2);
  for (let i = 0; i < 200 && (await doneIn(eventLog, 'b')).length < 2; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  t.deepEqual(await doneIn(eventLog, 'b'), [1, 2], 'lane b finished while lane a is stuck');
  t.deepEqual(await doneIn(eventLog, 'a'), []);
  t.true(pm.position < first, 'the watermark stays before the unfinished job');
  stuck.open();
  const [head] = await eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
  await pm.waitForPosition(head!.position, 5000);
  t.deepEqual(await doneIn(eventLog, 'a'), [1]);
});

test('one lane runs in log order, whatever each job takes', async (t) => {
  const { eventLog } = await setUp(t);
  const started: string[] = [];
  const pm = runner(t, eventLog, async (effect) => {
    started.push(`${effect.lane}${effect.n}`);
    await new Promise((resolve) => setTimeout(resolve, (effect.n * 7) % 13));
  });
  await pm.start();
  for (let n = 0; n < 10; n++) for (const lane of ['x', 'y', 'z']) await ask(eventLog, lane, n);
  const [head] = await eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
  await pm.waitForPosition(head!.position, 10_000);
  for (const lane of ['x', 'y', 'z']) {
    t.deepEqual(await doneIn(eventLog, lane), [...Array(10).keys()], `lane ${lane} recorded in order`);
    t.deepEqual(
      started.filter((name) => name.startsWith(lane)),
      [...Array(10).keys()].map((n) => `${lane}${n}`),
      `lane ${lane} started in order`,
    );
  }
});

test('a job waiting between tries holds no slot: with one slot, other lanes finish while it waits', async (t) => {
  const { eventLog } = await setUp(t);
  let working = 0;
  let most = 0;
  let failures = 0;
  const pm = runner(
    t,
    eventLog,
    async (effect) => {
      working++;
      most = Math.max(most, working);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (effect.lane === 'flaky' && failures++ < 2) throw new Error('try again');
      } finally {
        working--;
      }
    },
    { maxConcurrency: 1, retry: { attempts: 3, initialDelayMs: 300, maxDelayMs: 300, factor: 1 } },
  );
  await pm.start();
  await ask(eventLog, 'flaky', 0);
  for (let n = 0; n < 6; n++) await ask(eventLog, `steady-${n % 3}`, n);
  const steadyDone = async () =>
    (await Promise.all([0, 1, 2].map((lane) => doneIn(eventLog, `steady-${lane}`)))).flat().length;
  let flakyWhenSteadyDone: number[] | undefined;
  for (let i = 0; i < 1000 && flakyWhenSteadyDone === undefined; i++) {
    if ((await steadyDone()) === 6) flakyWhenSteadyDone = await doneIn(eventLog, 'flaky');
    else await new Promise((resolve) => setTimeout(resolve, 2));
  }
  // Had the flaky job kept the only slot through its waits, the steady lanes would have finished after it.
  t.deepEqual(flakyWhenSteadyDone, [], 'every steady job finished while the flaky one was still waiting to try again');
  const [head] = await eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
  await pm.waitForPosition(head!.position, 10_000);
  t.deepEqual(await doneIn(eventLog, 'flaky'), [0]);
  t.is(most, 1, 'one slot: never two at once');
});

test('at most maxConcurrency jobs work at once, and lanes do share the slots', async (t) => {
  const { eventLog } = await setUp(t);
  let working = 0;
  let most = 0;
  const pm = runner(
    t,
    eventLog,
    async () => {
      working++;
      most = Math.max(most, working);
      await new Promise((resolve) => setTimeout(resolve, 10));
      working--;
    },
    { maxConcurrency: 3 },
  );
  await pm.start();
  // Asked all at once: twenty jobs ready on five lanes, three slots.
  await Promise.all([0, 1, 2, 3].flatMap((n) => ['p', 'q', 'r', 's', 't'].map((lane) => ask(eventLog, lane, n))));
  const [head] = await eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
  await pm.waitForPosition(head!.position, 10_000);
  t.is(most, 3);
});

test('stopped with a job unfinished: the restart runs only that one; its outcome and every other is recorded once', async (t) => {
  const { eventLog } = await setUp(t);
  const calls: string[] = [];
  let holdA = true;
  const work = async (effect: Work, signal: AbortSignal) => {
    calls.push(`${effect.lane}${effect.n}`);
    if (effect.lane === 'a' && holdA)
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped'))));
  };
  const first = runner(t, eventLog, work, { checkpointEvery: 1 });
  await first.start();
  await ask(eventLog, 'a', 1);
  for (let n = 0; n < 5; n++) await ask(eventLog, 'b', n);
  for (let i = 0; i < 200 && (await doneIn(eventLog, 'b')).length < 5; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  await first.stop();
  const checkpoints = (await eventLog.readStream<ProcessManagerEvent>(first.checkpointStream)).map(({ event }) =>
    event.type === 'CheckpointSaved' ? event.data.position : -1,
  );
  const [asked] = await eventLog.readStream('asks-a-1');
  t.true(
    checkpoints.every((position) => position < asked!.position),
    `no checkpoint past the unfinished job: ${checkpoints.join(',')}`,
  );
  holdA = false;
  const second = runner(t, eventLog, work, { checkpointEvery: 1 });
  await second.start();
  const [head] = await eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
  await second.waitForPosition(head!.position, 10_000);
  t.deepEqual(await doneIn(eventLog, 'a'), [1]);
  t.deepEqual(await doneIn(eventLog, 'b'), [0, 1, 2, 3, 4], 'each recorded once');
  t.deepEqual(
    calls.filter((call) => call.startsWith('b')),
    ['b0', 'b1', 'b2', 'b3', 'b4'],
    'the finished ones were not performed again',
  );
  t.deepEqual(calls.filter((call) => call === 'a1').length, 2, 'the abandoned one ran again');
});
