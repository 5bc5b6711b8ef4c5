import test, { type ExecutionContext } from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import type { DomainEvent } from '../../src/events/domain-event.js';
import type { EventLog } from '../../src/events/event-log.js';
import { processManagerEventDefinitions, type ProcessManagerEvent } from '../../src/process-managers/events.js';
import {
  effectThenCommand,
  type EffectContext,
  type EffectHandlers,
  type ProcessManager,
} from '../../src/process-managers/process-manager.js';
import { reactionEventId } from '../../src/process-managers/reaction-ids.js';
import {
  ProcessManagerRunner,
  type ProcessManagerRunnerOptions,
  type ReactionOutcome,
} from '../../src/process-managers/runner.js';
import { PositionTimeoutError } from '../../src/projections/position-tracker.js';
import { storeSource } from '../../src/audit/source.js';
import { verifyLog } from '../../src/audit/verify.js';
import { counterDecider, counterEventDefinitions } from '../support/counter.js';
import { openTestEventLog, testContext } from '../support/test-store.js';
import { ordersProcessManager, orderEventDefinitions, type ChargeEffect, type OrderEvent } from './orders.js';

const definitions = [...orderEventDefinitions, ...counterEventDefinitions, ...processManagerEventDefinitions];
const tiny = { attempts: 3, initialDelayMs: 1, maxDelayMs: 4, factor: 2 };

const charge: EffectHandlers<ChargeEffect>['charge'] = async (effect, { key }) => [
  { type: 'PaymentTaken', data: { order_id: effect.orderId, amount: effect.amount, receipt: `r-${key}` } },
];

const setUp = async (t: ExecutionContext) => {
  const { eventLog, testStore, registry } = await openTestEventLog(t, definitions);
  await handleCommand(
    eventLog,
    'counter-orders',
    counterDecider,
    { type: 'open', id: 'orders', limit: 1_000_000 },
    testContext(),
  );
  return { eventLog, testStore, registry };
};

const placeOrders = async (eventLog: EventLog, ids: readonly string[], correlationId = 'slack-req-1') => {
  let position = -1;
  for (const id of ids) {
    const result = await eventLog.append(`order-${id}`, [{ type: 'OrderPlaced', data: { order_id: id, amount: 10 } }], {
      expectedRevision: 'no_stream',
      context: testContext({ correlationId, causationId: `cmd-${id}` }),
    });
    position = result.position;
  }
  return position;
};

const runner = (
  t: ExecutionContext,
  eventLog: EventLog,
  overrides: Partial<ProcessManagerRunnerOptions<ChargeEffect>> = {},
): ProcessManagerRunner<ChargeEffect> => {
  const instance = new ProcessManagerRunner<ChargeEffect>({
    eventLog,
    processManager: ordersProcessManager,
    effects: { charge },
    retry: tiny,
    onError: (_name, error) => t.log(`runner error: ${String(error)}`),
    ...overrides,
  });
  t.teardown(() => instance.stop());
  return instance;
};

/** Waits until the runner has processed everything in the log, including what it wrote itself. */
/** What runners write about themselves (checkpoints, reaction records), as opposed to the domain. */
const BOOKKEEPING = new Set<string>(processManagerEventDefinitions.map((definition) => definition.type));

const settle = async (eventLog: EventLog, instance: ProcessManagerRunner<ChargeEffect>) => {
  for (;;) {
    const [head] = await eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
    await instance.waitForPosition(head!.position, 10_000);
    if ((await instance.lag()) === 0) return;
  }
};

const typesIn = async (eventLog: EventLog, stream: string) =>
  (await eventLog.readStream(stream)).map((stored) => stored.event.type);

test('each event gets its reactions: effect outcome, appended events and a command, with causal metadata', async (t) => {
  const { eventLog } = await setUp(t);
  const pm = runner(t, eventLog);
  await pm.start();
  await placeOrders(eventLog, ['o1', 'o2']);
  await settle(eventLog, pm);

  const [order] = await eventLog.readStream('order-o1');
  const payments = await eventLog.readStream<OrderEvent>('payment-o1');
  t.is(payments.length, 1);
  const payment = payments[0]!;
  t.deepEqual(payment.event.data, { order_id: 'o1', amount: 10, receipt: `r-${order!.id}:charge` });
  t.is(payment.id, reactionEventId('orders', `${order!.id}:charge`, 0), 'outcome ids derive from the reaction key');
  t.like(payment.metadata, { actor: 'pm:orders', causation_id: order!.id, correlation_id: 'slack-req-1' });

  t.deepEqual(await typesIn(eventLog, 'shipment-o1'), ['ShipmentRequested']);
  t.deepEqual(await typesIn(eventLog, 'shipment-o2'), ['ShipmentRequested']);
  const counter = await handleCommand(
    eventLog,
    'counter-orders',
    counterDecider,
    { type: 'close', now: new Date() },
    testContext(),
  );
  if (E.isLeft(counter)) return t.fail();
  t.deepEqual(counter.right.state, { status: 'closed', id: 'orders', value: 2 });
});

test('an effect that throws is retried with growing pauses, then its outcome appended once', async (t) => {
  const { eventLog } = await setUp(t);
  const attempts: number[] = [];
  const pm = runner(t, eventLog, {
    effects: {
      charge: async (effect, context: EffectContext) => {
        attempts.push(context.attempt);
        if (context.attempt < 3) throw new Error('card network down');
        return charge(effect, context);
      },
    },
  });
  await pm.start();
  await placeOrders(eventLog, ['o1']);
  await settle(eventLog, pm);
  t.deepEqual(attempts, [1, 2, 3]);
  t.deepEqual(await typesIn(eventLog, 'payment-o1'), ['PaymentTaken']);
  t.deepEqual(await typesIn(eventLog, pm.reactionsStream), []);
});

test('an effect that keeps failing is recorded as ReactionFailed and the runner moves on', async (t) => {
  const { eventLog } = await setUp(t);
  const outcomes: [string, ReactionOutcome][] = [];
  const pm = runner(t, eventLog, {
    effects: {
      charge: async (effect, context) => {
        if (effect.orderId === 'bad') throw new Error('card declined for good');
        return charge(effect, context);
      },
    },
    onReaction: (_name, key, outcome) => outcomes.push([key.split(':')[1]!, outcome]),
  });
  await pm.start();
  await placeOrders(eventLog, ['bad', 'good']);
  await settle(eventLog, pm);

  const [badOrder] = await eventLog.readStream('order-bad');
  const failures = await eventLog.readStream<ProcessManagerEvent>(pm.reactionsStream);
  t.is(failures.length, 1);
  t.deepEqual(failures[0]!.event, {
    type: 'ReactionFailed',
    data: {
      process_manager: 'orders',
      key: `${badOrder!.id}:charge`,
      cause_event_id: badOrder!.id,
      effect_kind: 'charge',
      error: 'Error: card declined for good',
      attempts: 3,
    },
  });
  t.like(failures[0]!.metadata, { actor: 'pm:orders', causation_id: badOrder!.id, correlation_id: 'slack-req-1' });
  t.deepEqual(await typesIn(eventLog, 'payment-bad'), []);
  t.deepEqual(
    await typesIn(eventLog, 'shipment-bad'),
    ['ShipmentRequested'],
    'the other reactions of the event still ran',
  );
  t.deepEqual(await typesIn(eventLog, 'payment-good'), ['PaymentTaken']);
  // Reactions for different streams run side by side: what ends first is not fixed, only what ends how.
  const sorted = (pairs: string[][]) => pairs.map((pair) => pair.join(' ')).sort();
  t.deepEqual(
    sorted(outcomes),
    sorted([
      ['charge', 'failed'],
      ['ship', 'completed'],
      ['count', 'completed'],
      ['charge', 'completed'],
      ['ship', 'completed'],
      ['count', 'completed'],
    ]),
  );
});

test('a refused command, an effect with nothing to say, a missing handler and a reactor bug are all recorded', async (t) => {
  const { eventLog } = await setUp(t);
  const pm: ProcessManager<ChargeEffect | { kind: 'audit' }> = {
    name: 'edge-cases',
    react: (stored) => {
      const event = stored.event as OrderEvent;
      if (event.type !== 'OrderPlaced') return [];
      if (event.data.order_id === 'boom') throw new Error('reactor bug');
      return [
        {
          type: 'command',
          key: `${stored.id}:open-again`,
          stream: 'counter-orders',
          decider: counterDecider,
          command: { type: 'open', id: 'orders', limit: 1 },
        },
        {
          type: 'effect',
          key: `${stored.id}:silent`,
          stream: 'unused',
          effect: { kind: 'charge', orderId: 'x', amount: 0 },
        },
        { type: 'effect', key: `${stored.id}:audit`, stream: 'audit', effect: { kind: 'audit' } },
        {
          type: 'append',
          key: `${stored.id}:bad-event`,
          stream: 'shipment-x',
          events: [{ type: 'ShipmentRequested', data: { order: 1 } } as DomainEvent],
        },
      ];
    },
  };
  const instance = new ProcessManagerRunner({
    eventLog,
    processManager: pm,
    effects: { charge: async () => [] } as never,
    retry: tiny,
  });
  t.teardown(() => instance.stop());
  await instance.start();
  await placeOrders(eventLog, ['o1', 'boom']);
  for (;;) {
    const [head] = await eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
    await instance.waitForPosition(head!.position, 10_000);
    if ((await instance.lag()) === 0) break;
  }
  const records = (await eventLog.readStream<ProcessManagerEvent>(instance.reactionsStream)).map(
    (stored) => stored.event,
  );
  const summary = records.map((event) =>
    event.type === 'ReactionFailed'
      ? `failed ${event.data.key.split(':')[1]} ${event.data.effect_kind}: ${event.data.error}`
      : event.type === 'ReactionCompleted'
        ? `${event.data.outcome} ${event.data.key.split(':')[1]}`
        : event.type,
  );
  t.deepEqual(
    [...summary].sort(),
    [
      'rejected open-again',
      'no_events silent',
      'failed audit audit: Error: no handler is registered for effect kind audit',
      'failed bad-event append: InvalidEventDataError: event ShipmentRequested does not match its codec: order_id: required string',
      `failed ${(await eventLog.readStream('order-boom'))[0]!.id} react: Error: reactor bug`,
    ].sort(),
  );
  const rejected = records.find((event) => event.type === 'ReactionCompleted' && event.data.outcome === 'rejected')!;
  t.true(rejected.type === 'ReactionCompleted' && /"kind":"conflict"/.test(rejected.data.detail ?? ''));
});

test('the runner ignores its own checkpoint and bookkeeping events', async (t) => {
  const { eventLog } = await setUp(t);
  const seen: string[] = [];
  const pm = runner(t, eventLog, {
    processManager: {
      name: 'orders',
      react: (stored) => {
        seen.push(stored.stream);
        return ordersProcessManager.react(stored);
      },
    },
    effects: { charge: async () => Promise.reject(new Error('always')) },
    checkpointEvery: 1,
  });
  await pm.start();
  await placeOrders(eventLog, ['o1']);
  await settle(eventLog, pm);
  t.true((await typesIn(eventLog, pm.reactionsStream)).includes('ReactionFailed'));
  t.true((await typesIn(eventLog, pm.checkpointStream)).includes('CheckpointSaved'));
  t.false(seen.includes(pm.reactionsStream));
  t.false(seen.includes(pm.checkpointStream));
  t.true(
    seen.includes('shipment-o1'),
    'its outcome events are ordinary events (another reaction may follow from them)',
  );
});

test('stop() saves the checkpoint; a restart resumes after it and reacts to each event once', async (t) => {
  const { eventLog } = await setUp(t);
  const charged: string[] = [];
  const pm = runner(t, eventLog, {
    effects: {
      charge: async (effect, context) => {
        charged.push(effect.orderId);
        return charge(effect, context);
      },
    },
    checkpointEvery: 1000,
  });
  await pm.start();
  await placeOrders(eventLog, ['o1', 'o2']);
  await settle(eventLog, pm);
  await pm.stop();
  t.false(pm.isRunning);
  const checkpoints = await eventLog.readStream<ProcessManagerEvent>(pm.checkpointStream);
  t.is(checkpoints.length, 1, 'batched: one save at stop');
  const saved = checkpoints[0]!.event;
  t.true(saved.type === 'CheckpointSaved' && saved.data.position === pm.position);

  await placeOrders(eventLog, ['o3']);
  await pm.start();
  await settle(eventLog, pm);
  t.deepEqual(charged, ['o1', 'o2', 'o3']);
  for (const id of ['o1', 'o2', 'o3']) t.deepEqual(await typesIn(eventLog, `payment-${id}`), ['PaymentTaken']);
});

test('checkpoints are saved every N events of the domain, in increasing order', async (t) => {
  const { eventLog } = await setUp(t);
  const pm = runner(t, eventLog, { checkpointEvery: 4 });
  await pm.start();
  await placeOrders(eventLog, ['o1', 'o2', 'o3', 'o4', 'o5']);
  await settle(eventLog, pm);
  const saved = (await eventLog.readStream<ProcessManagerEvent>(pm.checkpointStream)).map(({ event }) =>
    event.type === 'CheckpointSaved' ? event.data.position : -1,
  );
  t.true(saved.length >= 2, `several saves, got ${saved.join(',')}`);
  t.deepEqual(
    [...saved].sort((a, b) => a - b),
    saved,
    'in increasing order',
  );
  // A save is at the low watermark, which may trail the events processed, so two saves can be
  // fewer positions apart than the events between them: what is bounded is how many there are.
  const domainEvents = (await eventLog.store.readAll()).filter((event) => !BOOKKEEPING.has(event.type)).length;
  t.true(
    saved.length <= Math.floor(domainEvents / 4),
    `${saved.length} saves for ${domainEvents} events of the domain`,
  );
});

test('runners at rest append nothing: no checkpoint for time passing or for other runners’ checkpoints', async (t) => {
  const { eventLog } = await setUp(t);
  // Several runners over one log, each saving after few positions: the old rules made each
  // save schedule a save in every other runner, for ever.
  const runners = ['a', 'b', 'c', 'd'].map((name) =>
    runner(t, eventLog, { processManager: { ...ordersProcessManager, name: `orders-${name}` }, checkpointEvery: 3 }),
  );
  for (const pm of runners) await pm.start();
  await placeOrders(eventLog, ['o1', 'o2', 'o3']);
  // The work is over once a pass over every runner appends nothing more: a checkpoint the work
  // itself called for may still be on its way when a runner has caught up with the head.
  let [headAfterWork] = await eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
  // Bounded: runners that saved for ever (the old rules) would never be quiet; the check below names them.
  for (let pass = 0; pass < 10; pass++) {
    for (const pm of runners) await settle(eventLog, pm);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [head] = await eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
    if (head!.position === headAfterWork!.position) break;
    headAfterWork = head;
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
  for (const pm of runners) await settle(eventLog, pm);
  const [headAtRest] = await eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
  const appended = await eventLog.store.readAll({ fromPosition: headAfterWork!.position + 1 });
  t.deepEqual(
    appended.map((event) => `${event.stream} ${event.type}`),
    [],
    `${headAtRest!.position - headAfterWork!.position} events appended while nothing happened`,
  );
});

test('a log full of checkpoints from the old rules opens, verifies and resumes from the last one, adding none at rest', async (t) => {
  const { eventLog, testStore, registry } = await setUp(t);
  await placeOrders(eventLog, ['o1']);
  const checkpointStream = 'pm-orders-checkpoint';
  // What the old runners left behind: a save every second of an idle gateway, for days.
  let last = -1;
  for (let i = 0; i < 2000; i++) {
    const [head] = await eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
    last = head!.position;
    await eventLog.append(
      checkpointStream,
      [{ type: 'CheckpointSaved', data: { subscriber: 'orders', position: last } }],
      { expectedRevision: 'any', context: testContext({ actor: 'pm:orders' }) },
    );
  }
  const { EventLog: Log } = await import('../../src/events/event-log.js');
  const reopened = new Log(await testStore.reopen(), registry);
  t.deepEqual(await verifyLog(storeSource(reopened.store)), { ok: true, events_checked: 2002, first_bad: null });
  const pm = runner(t, reopened);
  await pm.start();
  t.true(pm.position >= last, 'resumed after the last checkpoint');
  await settle(reopened, pm);
  const [head] = await reopened.store.readAll({ direction: 'backwards', maxCount: 1 });
  await new Promise((resolve) => setTimeout(resolve, 1200));
  const [after] = await reopened.store.readAll({ direction: 'backwards', maxCount: 1 });
  t.is(after!.position, head!.position, 'nothing appended at rest');
  t.deepEqual(
    await typesIn(reopened, 'payment-o1'),
    [],
    'the order placed before the last checkpoint is not charged again',
  );
});

test('stop() saves no checkpoint when the runner did no work since the last one', async (t) => {
  const { eventLog } = await setUp(t);
  const pm = runner(t, eventLog, { processManager: { name: 'ignores-all', react: () => [] }, checkpointEvery: 1000 });
  await pm.start();
  await placeOrders(eventLog, ['o1', 'o2']);
  await settle(eventLog, pm as unknown as ProcessManagerRunner<ChargeEffect>);
  await pm.stop();
  t.deepEqual(await typesIn(eventLog, pm.checkpointStream), []);
});

test('stop() aborts a waiting effect; the abandoned reaction runs again after the restart, once', async (t) => {
  const { eventLog } = await setUp(t);
  let entered!: () => void;
  const inEffect = new Promise<void>((resolve) => (entered = resolve));
  let blocking = true;
  const attempts: string[] = [];
  const pm = runner(t, eventLog, {
    effects: {
      charge: (effect, context) => {
        attempts.push(`${effect.orderId}#${context.attempt}`);
        if (!blocking) return charge(effect, context);
        entered();
        return new Promise((_, reject) =>
          context.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
        );
      },
    },
  });
  await pm.start();
  const position = await placeOrders(eventLog, ['o1']);
  await inEffect;
  await pm.stop();
  t.true(pm.position < position, 'the interrupted event is not counted as processed');
  t.deepEqual(await typesIn(eventLog, pm.reactionsStream), [], 'an abandoned reaction is not a failure');
  blocking = false;
  await pm.start();
  await settle(eventLog, pm);
  t.deepEqual(attempts, ['o1#1', 'o1#1']);
  t.deepEqual(await typesIn(eventLog, 'payment-o1'), ['PaymentTaken']);
  t.deepEqual(await typesIn(eventLog, 'shipment-o1'), ['ShipmentRequested']);
});

test('after a crash past the checkpoint, reactions already done are recognised and not performed again', async (t) => {
  const { eventLog, testStore, registry } = await setUp(t);
  const charged: string[] = [];
  const effects = {
    charge: async (effect: ChargeEffect, context: EffectContext) => {
      charged.push(effect.orderId);
      return charge(effect, context);
    },
  };
  const first = runner(t, eventLog, { effects, checkpointEvery: 1000, resubscribeDelayMs: 5 });
  await first.start();
  await placeOrders(eventLog, ['o1', 'o2', 'o3']);
  await settle(eventLog, first);
  // "Crash": the store goes away under the runner before it ever saved a checkpoint.
  await testStore.close();
  await first.stop();

  const { EventLog: Log } = await import('../../src/events/event-log.js');
  const reopened = new Log(await testStore.reopen(), registry);
  t.deepEqual(await typesIn(reopened, first.checkpointStream), [], 'no checkpoint was saved');
  const outcomes: ReactionOutcome[] = [];
  const second = runner(t, reopened, { effects, onReaction: (_name, _key, outcome) => outcomes.push(outcome) });
  await second.start();
  await settle(reopened, second);
  t.deepEqual(charged, ['o1', 'o2', 'o3'], 'no effect performed twice');
  t.true(outcomes.length >= 9);
  t.true(outcomes.every((outcome) => outcome === 'already_done'));
  for (const id of ['o1', 'o2', 'o3']) t.deepEqual(await typesIn(reopened, `payment-${id}`), ['PaymentTaken']);
});

test('lag is reported as head position minus processed position', async (t) => {
  const { eventLog } = await setUp(t);
  const lags: number[] = [];
  let sawZero!: () => void;
  const zero = new Promise<void>((resolve) => (sawZero = resolve));
  const pm = runner(t, eventLog, {
    lagIntervalMs: 2,
    onLag: (name, lag) => {
      t.is(name, 'orders');
      lags.push(lag);
      if (lag === 0 && lags.length > 1) sawZero();
    },
  });
  const head = await placeOrders(eventLog, ['o1', 'o2', 'o3']);
  t.is(await pm.lag(), head + 1, 'before start nothing is processed');
  await pm.start();
  await settle(eventLog, pm);
  await zero;
  t.is(await pm.lag(), 0);
  t.true(lags.every((lag) => lag >= 0));
});

test('waiting for a position the runner does not reach times out with a clear error', async (t) => {
  const { eventLog } = await setUp(t);
  const pm = runner(t, eventLog);
  await pm.start();
  const error = await t.throwsAsync(pm.waitForPosition(10_000, 5), { instanceOf: PositionTimeoutError });
  t.regex(error?.message ?? '', /process manager orders did not reach position 10000 within 5 ms/);
});

test('a process manager name must be safe for stream names', (t) => {
  t.throws(
    () =>
      new ProcessManagerRunner({
        eventLog: {} as EventLog,
        processManager: { name: 'Bad Name', react: () => [] },
        effects: {},
      }),
    {
      message: /must be lowercase letters, digits and dashes/,
    },
  );
});

test('two reactions with one key are a reactor bug, recorded and not performed', async (t) => {
  const { eventLog } = await setUp(t);
  const pm = new ProcessManagerRunner({
    eventLog,
    processManager: {
      name: 'dupes',
      react: (stored) =>
        stored.stream.startsWith('order-')
          ? [
              {
                type: 'append',
                key: 'same',
                stream: 'x',
                events: [{ type: 'ShipmentRequested', data: { order_id: '1' } }],
              },
              {
                type: 'append',
                key: 'same',
                stream: 'x',
                events: [{ type: 'ShipmentRequested', data: { order_id: '2' } }],
              },
            ]
          : [],
    },
    effects: {},
  });
  t.teardown(() => pm.stop());
  await pm.start();
  const position = await placeOrders(eventLog, ['o1']);
  await pm.waitForPosition(position, 10_000);
  t.deepEqual(await typesIn(eventLog, 'x'), []);
  const [failed] = await eventLog.readStream<ProcessManagerEvent>(pm.reactionsStream);
  t.true(failed?.event.type === 'ReactionFailed' && /two reactions share the key "same"/.test(failed.event.data.error));
});

test('an effect whose outcome is a command: recorded through the aggregate’s decider (its one write path), a refusal recorded as such', async (t) => {
  const { eventLog } = await setUp(t);
  type Measure = { readonly kind: 'measure'; readonly orderId: string };
  const pm: ProcessManager<Measure> = {
    name: 'measures',
    react: (stored) => {
      const event = stored.event as OrderEvent;
      if (event.type !== 'OrderPlaced') return [];
      return [
        effectThenCommand(`${stored.id}:measure`, 'counter-orders', counterDecider, {
          kind: 'measure',
          orderId: event.data.order_id,
        } as Measure),
      ];
    },
  };
  const instance = new ProcessManagerRunner<Measure>({
    eventLog,
    processManager: pm,
    effects: {
      measure: async ({ orderId }) =>
        orderId === 'closing'
          ? { command: { type: 'close', now: new Date() } }
          : orderId === 'wrong'
            ? [{ type: 'CounterIncremented', data: { by: 1, at: 'x' } }]
            : orderId === 'unneeded'
              ? []
              : { command: { type: 'increment', by: 2, now: new Date() } },
    },
    retry: tiny,
  });
  t.teardown(() => instance.stop());
  await instance.start();
  await placeOrders(eventLog, ['o1', 'closing', 'o2', 'wrong', 'unneeded']);
  for (;;) {
    const [head] = await eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
    await instance.waitForPosition(head!.position, 10_000);
    if ((await instance.lag()) === 0) break;
  }
  const [opened, ...rest] = await eventLog.readStream('counter-orders');
  t.is(opened!.event.type, 'CounterOpened');
  t.deepEqual(
    rest.map((stored) => stored.event.type),
    ['CounterIncremented', 'CounterClosed'],
    'o1 counted, then closed; o2 refused by the decider: a closed counter takes no increment',
  );
  t.is(
    rest[0]!.id,
    reactionEventId('measures', `${(await eventLog.readStream('order-o1'))[0]!.id}:measure`, 0),
    'the outcome carries the reaction’s proof id',
  );
  const records = (await eventLog.readStream<ProcessManagerEvent>(instance.reactionsStream)).map(
    (stored) => stored.event,
  );
  t.true(
    records.some((event) => event.type === 'ReactionCompleted' && event.data.outcome === 'rejected'),
    'the refusal is recorded',
  );
  t.true(
    records.some(
      (event) =>
        event.type === 'ReactionFailed' && /returned events, but its reaction runs a command/.test(event.data.error),
    ),
    'a handler that answers with events where a command is due is a bug, recorded',
  );
  t.true(
    records.some(
      (event) =>
        event.type === 'ReactionCompleted' && event.data.outcome === 'no_events' && event.data.key.endsWith(':measure'),
    ),
    'no events: nothing to record, and done',
  );
});

test('a rerunnable effect with nothing to record keeps no proof; after a restart before any checkpoint it simply runs again', async (t) => {
  const { eventLog, testStore, registry } = await setUp(t);
  const runs: string[] = [];
  type Touch = { readonly kind: 'touch'; readonly orderId: string };
  const pm: ProcessManager<Touch> = {
    name: 'touches',
    react: (stored) => {
      const event = stored.event as OrderEvent;
      if (event.type !== 'OrderPlaced') return [];
      return [
        {
          type: 'effect',
          key: `${stored.id}:touch`,
          stream: `touch-${event.data.order_id}`,
          effect: { kind: 'touch', orderId: event.data.order_id },
          rerunnable: true,
        },
      ];
    },
  };
  const make = (log: EventLog) =>
    new ProcessManagerRunner<Touch>({
      eventLog: log,
      processManager: pm,
      effects: { touch: async ({ orderId }) => (runs.push(orderId), []) },
      retry: tiny,
      checkpointEvery: 1000,
      resubscribeDelayMs: 5,
    });
  const first = make(eventLog);
  await first.start();
  const position = await placeOrders(eventLog, ['o1']);
  await first.waitForPosition(position, 10_000);
  t.deepEqual(await typesIn(eventLog, first.reactionsStream), [], 'no bookkeeping for a no-op');
  // "Crash": the store goes away under the runner, so no checkpoint is saved.
  await testStore.close();
  await first.stop();
  const { EventLog: Log } = await import('../../src/events/event-log.js');
  const second = make(new Log(await testStore.reopen(), registry));
  t.teardown(() => second.stop());
  await second.start();
  await second.waitForPosition(position, 10_000);
  t.deepEqual(runs, ['o1', 'o1'], 'ran again, harmlessly');
});
