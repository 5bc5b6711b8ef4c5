import test, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import {
  EventStoreClosedError,
  WrongExpectedRevisionError,
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
  type Subscription,
} from '../../src/eventstore/port.js';

export interface OpenedStore {
  readonly store: EventStore;
  readonly cleanup: () => Promise<void>;
}

/**
 * The one contract every event store adapter passes. Adapter-neutral: unique stream names per
 * test (so it can run against a shared EventStoreDB), no knowledge of files or connections.
 */
export const eventStoreContract = (adapterName: string, open: () => Promise<OpenedStore>): void => {
  const withStore = (title: string, body: (store: EventStore, t: ExecutionContext) => Promise<void>) =>
    test(`${adapterName}: ${title}`, async (t) => {
      const { store, cleanup } = await open();
      try {
        await body(store, t);
      } finally {
        await cleanup();
      }
    });

  withStore('appends with every kind of expected revision and refuses the wrong ones', async (store, t) => {
    const stream = streamName('kinds');
    const first = await store.appendToStream(stream, [event('A', 1)], { expectedRevision: 'no_stream' });
    t.is(first.nextExpectedRevision, 0);
    await rejectsWith(t, store.appendToStream(stream, [event('A', 2)], { expectedRevision: 'no_stream' }), stream, 0);
    t.is(
      (await store.appendToStream(stream, [event('A', 2)], { expectedRevision: 'stream_exists' })).nextExpectedRevision,
      1,
    );
    await rejectsWith(
      t,
      store.appendToStream(streamName('absent'), [event('A', 1)], { expectedRevision: 'stream_exists' }),
      undefined,
      -1,
    );
    t.is(
      (await store.appendToStream(stream, [event('A', 3), event('A', 4)], { expectedRevision: 1 }))
        .nextExpectedRevision,
      3,
    );
    await rejectsWith(t, store.appendToStream(stream, [event('A', 5)], { expectedRevision: 1 }), stream, 3);
    await rejectsWith(
      t,
      store.appendToStream(streamName('absent'), [event('A', 5)], { expectedRevision: 0 }),
      undefined,
      -1,
    );
    t.is((await store.appendToStream(stream, [event('A', 5)], { expectedRevision: 'any' })).nextExpectedRevision, 4);
    t.is((await store.appendToStream(stream, [event('A', 6)])).nextExpectedRevision, 5, 'any is the default');
    t.deepEqual(
      (await store.readStream(stream)).map((e) => e.data['n']),
      [1, 2, 3, 4, 5, 6],
    );
  });

  withStore('reads back exactly what was appended, with revisions and increasing positions', async (store, t) => {
    const stream = streamName('roundtrip');
    const appended = [
      event('Created', 1, { nested: { list: [1, 'two', null, true] }, text: 'ünïcødé ✓' }),
      event('Renamed', 2),
    ];
    const result = await store.appendToStream(stream, appended, { expectedRevision: 'no_stream' });
    const read = await store.readStream(stream);
    t.deepEqual(
      read.map(({ id, stream: s, revision, type, data, metadata }) => ({
        id,
        stream: s,
        revision,
        type,
        data,
        metadata,
      })),
      appended.map((e, revision) => ({ ...e, stream, revision })),
    );
    t.true(read[1]!.position > read[0]!.position);
    t.is(result.position, read[1]!.position);
  });

  withStore(
    'a retried append with the same ids at the same revision is a no-op returning the first result',
    async (store, t) => {
      const stream = streamName('retry');
      const batch = [event('A', 1), event('A', 2)];
      const first = await store.appendToStream(stream, batch, { expectedRevision: 'no_stream' });
      const again = await store.appendToStream(stream, batch, { expectedRevision: 'no_stream' });
      t.deepEqual(again, first);
      const next = [event('A', 3)];
      const third = await store.appendToStream(stream, next, { expectedRevision: 1 });
      t.deepEqual(await store.appendToStream(stream, next, { expectedRevision: 1 }), third);
      t.is((await store.readStream(stream)).length, 3, 'nothing appended twice');
    },
  );

  withStore('reads a stream forwards and backwards from a revision with a maximum count', async (store, t) => {
    const stream = streamName('read');
    await store.appendToStream(
      stream,
      [1, 2, 3, 4, 5].map((n) => event('N', n)),
    );
    const numbers = (events: RecordedEvent[]) => events.map((e) => e.data['n']);
    t.deepEqual(numbers(await store.readStream(stream, { fromRevision: 2 })), [3, 4, 5]);
    t.deepEqual(numbers(await store.readStream(stream, { fromRevision: 1, maxCount: 2 })), [2, 3]);
    t.deepEqual(numbers(await store.readStream(stream, { direction: 'backwards' })), [5, 4, 3, 2, 1]);
    t.deepEqual(
      numbers(await store.readStream(stream, { direction: 'backwards', fromRevision: 3, maxCount: 2 })),
      [4, 3],
    );
    t.deepEqual(numbers(await store.readStream(stream, { fromRevision: 9 })), []);
    t.deepEqual(await store.readStream(streamName('never')), [], 'a missing stream reads as empty');
  });

  withStore('$all holds every stream in append order with strictly increasing positions', async (store, t) => {
    const [a, b] = [streamName('all-a'), streamName('all-b')];
    await store.appendToStream(a, [event('A', 1)]);
    await store.appendToStream(b, [event('B', 1), event('B', 2)]);
    await store.appendToStream(a, [event('A', 2)]);
    const mine = (await store.readAll()).filter((e) => e.stream === a || e.stream === b);
    t.deepEqual(
      mine.map((e) => `${e.stream === a ? 'a' : 'b'}${e.revision}`),
      ['a0', 'b0', 'b1', 'a1'],
    );
    for (let i = 1; i < mine.length; i++) t.true(mine[i]!.position > mine[i - 1]!.position);
    const from = await store.readAll({ fromPosition: mine[1]!.position, maxCount: 2 });
    t.deepEqual(
      from.map((e) => e.id),
      [mine[1]!.id, mine[2]!.id],
      'fromPosition is inclusive',
    );
    const backwards = await store.readAll({ direction: 'backwards', maxCount: 1 });
    t.is(backwards[0]!.id, mine[3]!.id, 'the last event first');
  });

  withStore('two concurrent appends at the same expected revision: exactly one wins', async (store, t) => {
    const stream = streamName('race');
    await store.appendToStream(stream, [event('A', 0)], { expectedRevision: 'no_stream' });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.appendToStream(stream, [event('A', i + 1)], { expectedRevision: 0 })),
    );
    t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') t.true(r.reason instanceof WrongExpectedRevisionError);
    t.is((await store.readStream(stream)).length, 2);
  });

  withStore('a stream subscription catches up from the start, then continues live', async (store, t) => {
    const stream = streamName('sub');
    await store.appendToStream(stream, [event('A', 0), event('A', 1)]);
    const subscription = store.subscribeToStream(stream);
    const received = collect(subscription, 4);
    await store.appendToStream(stream, [event('A', 2)]);
    await store.appendToStream(stream, [event('A', 3)]);
    t.deepEqual(
      (await received).map((e) => e.revision),
      [0, 1, 2, 3],
    );
  });

  withStore('a stream subscription after a revision is exclusive', async (store, t) => {
    const stream = streamName('sub-after');
    await store.appendToStream(
      stream,
      [0, 1, 2].map((n) => event('A', n)),
    );
    const subscription = store.subscribeToStream(stream, { afterRevision: 1 });
    const received = collect(subscription, 2);
    await store.appendToStream(stream, [event('A', 3)]);
    t.deepEqual(
      (await received).map((e) => e.revision),
      [2, 3],
    );
  });

  withStore('a subscription to a stream that does not exist yet waits for it', async (store, t) => {
    const stream = streamName('sub-later');
    const received = collect(store.subscribeToStream(stream), 1);
    await store.appendToStream(stream, [event('A', 0)]);
    t.deepEqual(
      (await received).map((e) => e.data['n']),
      [0],
    );
  });

  withStore('a $all subscription from a position: no gap and no duplicate at the catch-up seam', async (store, t) => {
    const stream = streamName('seam');
    const before = await store.appendToStream(stream, [event('A', 0)]);
    await store.appendToStream(
      stream,
      Array.from({ length: 50 }, (_, i) => event('A', i + 1)),
    );
    const subscription = store.subscribeToAll({ afterPosition: before.position });
    const total = 50 + 100;
    const received = collect(subscription, total, (e) => e.stream === stream);
    // Appends race with the catch-up: each must arrive exactly once, in order.
    for (let i = 0; i < 100; i++) await store.appendToStream(stream, [event('A', 51 + i)]);
    const numbers = (await received).map((e) => e.data['n']);
    t.deepEqual(
      numbers,
      Array.from({ length: total }, (_, i) => i + 1),
    );
  });

  withStore('stop() ends the iteration of a live subscription', async (store, t) => {
    const stream = streamName('stop');
    await store.appendToStream(stream, [event('A', 0)]);
    const subscription = store.subscribeToStream(stream);
    const seen: number[] = [];
    const loop = (async () => {
      for await (const e of subscription) seen.push(e.revision);
    })();
    await waitUntil(() => seen.length === 1);
    await subscription.stop();
    await loop;
    await store.appendToStream(stream, [event('A', 1)]);
    t.deepEqual(seen, [0]);
  });

  withStore('stop() before the first event ends a waiting subscription', async (store, t) => {
    const subscription = store.subscribeToStream(streamName('stop-idle'));
    const iterator = subscription[Symbol.asyncIterator]();
    const next = iterator.next();
    await subscription.stop();
    t.true((await next).done);
  });

  test(`${adapterName}: after close every operation fails with EventStoreClosedError`, async (t) => {
    const { store, cleanup } = await open();
    const stream = streamName('closed');
    await store.appendToStream(stream, [event('A', 0)]);
    const subscription = store.subscribeToStream(stream);
    let count = 0;
    const loop = (async () => {
      for await (const _ of subscription) count++;
    })();
    await waitUntil(() => count === 1);
    await store.close();
    await loop;
    t.is(count, 1, 'close ends open subscriptions');
    await t.throwsAsync(() => store.appendToStream(stream, [event('A', 1)]), { instanceOf: EventStoreClosedError });
    await t.throwsAsync(() => store.readStream(stream), { instanceOf: EventStoreClosedError });
    await t.throwsAsync(() => store.checkHealth(), { instanceOf: EventStoreClosedError });
    await cleanup();
  });

  withStore('checkHealth resolves on an open store', async (store, t) => {
    await t.notThrowsAsync(() => store.checkHealth());
  });
};

const streamName = (purpose: string): string => `contract-${purpose}-${randomUUID().slice(0, 8)}`;

export const event = (type: string, n: number, extra: Record<string, unknown> = {}): EventToAppend => ({
  id: randomUUID(),
  type,
  data: { n, ...extra } as EventToAppend['data'],
  metadata: { actor: 'contract', correlation_id: 'c-1' },
});

const rejectsWith = async (
  t: { true: (value: boolean, message?: string) => void; is: (a: unknown, b: unknown, message?: string) => void },
  promise: Promise<unknown>,
  stream: string | undefined,
  actual: number,
): Promise<void> => {
  try {
    await promise;
    t.true(false, 'expected a WrongExpectedRevisionError');
  } catch (error) {
    t.true(error instanceof WrongExpectedRevisionError, String(error));
    if (error instanceof WrongExpectedRevisionError) {
      if (stream) t.is(error.stream, stream);
      t.is(error.actual, actual);
    }
  }
};

const collect = async (
  subscription: Subscription,
  count: number,
  keep: (event: RecordedEvent) => boolean = () => true,
): Promise<RecordedEvent[]> => {
  const received: RecordedEvent[] = [];
  const deadline = setTimeout(() => void subscription.stop(), 20_000);
  try {
    for await (const e of subscription) {
      if (keep(e)) received.push(e);
      if (received.length >= count) break;
    }
  } finally {
    clearTimeout(deadline);
    await subscription.stop();
  }
  return received;
};

const waitUntil = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
};
