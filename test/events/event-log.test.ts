import test from 'ava';
import * as io from 'io-ts';
import { WrongExpectedRevisionError, type RecordedEvent } from '../../src/eventstore/port.js';
import { defineEvent, jsonCodec, type EventOf } from '../../src/events/domain-event.js';
import { EventLog } from '../../src/events/event-log.js';
import { GENESIS_HASH, chainHash } from '../../src/events/hash-chain.js';
import { InvalidEventDataError, UnknownEventTypeError } from '../../src/events/registry.js';
import { openTestEventLog, testContext } from '../support/test-store.js';

const NoteWritten = defineEvent('NoteWritten', jsonCodec(io.type({ text: io.string })));
type NoteWritten = EventOf<typeof NoteWritten>;
const note = (text: string): NoteWritten => ({ type: 'NoteWritten', data: { text } });

/** Recomputes a stream's chain from the raw records; the index of the first bad link or -1. */
const firstBrokenLink = (events: readonly RecordedEvent[]): number => {
  let previous = GENESIS_HASH;
  for (const [index, event] of events.entries()) {
    const { hash, actor, correlation_id, causation_id, recorded_at } = event.metadata as Record<string, string>;
    const expected = chainHash(previous, {
      id: event.id,
      stream: event.stream,
      revision: event.revision,
      type: event.type,
      data: event.data,
      actor: actor!,
      correlation_id: correlation_id!,
      causation_id: causation_id!,
      recorded_at: recorded_at!,
    });
    if (expected !== hash || event.revision !== index) return index;
    previous = hash;
  }
  return -1;
};

test('appended events carry the context as metadata and a hash chained within their stream', async (t) => {
  const { eventLog, testStore } = await openTestEventLog(t, [NoteWritten]);
  const context = testContext({ actor: 'alice', correlationId: 'req-7', causationId: 'cmd-7' });
  const first = await eventLog.append('notes-1', [note('a'), note('b')], { expectedRevision: 'no_stream', context });
  t.deepEqual(first, { nextExpectedRevision: 1, position: 1 });
  await eventLog.append('other-1', [note('elsewhere')], { expectedRevision: 'no_stream', context });
  await eventLog.append('notes-1', [note('c')], {
    expectedRevision: 1,
    context: testContext({ now: new Date('2030-01-02T00:00:00Z') }),
  });

  const raw = await testStore.store.readStream('notes-1');
  t.is(raw.length, 3);
  t.is(firstBrokenLink(raw), -1);
  t.like(raw[0]!.metadata, {
    actor: 'alice',
    correlation_id: 'req-7',
    causation_id: 'cmd-7',
    recorded_at: '2030-01-01T00:00:00.000Z',
  });
  t.is(raw[2]!.metadata['recorded_at'], '2030-01-02T00:00:00.000Z');
  t.is(firstBrokenLink(await testStore.store.readStream('other-1')), -1, 'each stream has its own chain from genesis');

  const typed = await eventLog.readStream<NoteWritten>('notes-1');
  t.deepEqual(
    typed.map((stored) => stored.event.data.text),
    ['a', 'b', 'c'],
  );
  t.is(typed[1]!.metadata.hash, String(raw[1]!.metadata['hash']));
});

test('an edited, removed or reordered event no longer verifies against the chain', async (t) => {
  const { eventLog, testStore } = await openTestEventLog(t, [NoteWritten]);
  await eventLog.append('notes-1', [note('a'), note('b'), note('c')], {
    expectedRevision: 'no_stream',
    context: testContext(),
  });
  const raw = await testStore.store.readStream('notes-1');
  t.is(firstBrokenLink(raw), -1);
  t.is(firstBrokenLink([raw[0]!, { ...raw[1]!, data: { text: 'B' } }, raw[2]!]), 1, 'edit');
  t.is(firstBrokenLink([raw[0]!, { ...raw[2]!, revision: 1 }]), 1, 'removal');
  t.is(firstBrokenLink([raw[0]!, { ...raw[2]!, revision: 1 }, { ...raw[1]!, revision: 2 }]), 1, 'reorder');
});

test('each expected revision is enforced and a refused append writes nothing', async (t) => {
  const { eventLog, testStore } = await openTestEventLog(t, [NoteWritten]);
  const context = testContext();
  await t.throwsAsync(eventLog.append('notes-1', [note('x')], { expectedRevision: 'stream_exists', context }), {
    instanceOf: WrongExpectedRevisionError,
  });
  await t.throwsAsync(eventLog.append('notes-1', [note('x')], { expectedRevision: 0, context }), {
    instanceOf: WrongExpectedRevisionError,
  });
  await eventLog.append('notes-1', [note('a')], { expectedRevision: 'no_stream', context });
  await t.throwsAsync(eventLog.append('notes-1', [note('x')], { expectedRevision: 'no_stream', context }), {
    instanceOf: WrongExpectedRevisionError,
  });
  const stale = await t.throwsAsync(eventLog.append('notes-1', [note('x')], { expectedRevision: 3, context }), {
    instanceOf: WrongExpectedRevisionError,
  });
  t.is(stale?.actual, 0);
  await eventLog.append('notes-1', [note('b')], { expectedRevision: 'stream_exists', context });
  await eventLog.append('notes-1', [note('c')], { expectedRevision: 'any', context });
  await eventLog.append('notes-1', [note('d')], { expectedRevision: 2, context });
  await eventLog.append('notes-2', [note('new')], { expectedRevision: 'any', context });

  const raw = await testStore.store.readStream('notes-1');
  t.deepEqual(
    raw.map((event) => event.data['text']),
    ['a', 'b', 'c', 'd'],
  );
  t.is(firstBrokenLink(raw), -1);
  t.is(firstBrokenLink(await testStore.store.readStream('notes-2')), -1);
});

test('racing appends with `any` all land, in some order, on one unbroken chain', async (t) => {
  const { eventLog, testStore } = await openTestEventLog(t, [NoteWritten]);
  const writers = 16;
  await Promise.all(
    Array.from({ length: writers }, (_, i) =>
      eventLog.append('notes-1', [note(`w${i}-1`), note(`w${i}-2`)], {
        expectedRevision: 'any',
        context: testContext(),
      }),
    ),
  );
  const raw = await testStore.store.readStream('notes-1');
  t.is(raw.length, writers * 2);
  t.is(firstBrokenLink(raw), -1);
  // A writer's two events stay together.
  for (let i = 0; i < raw.length; i += 2)
    t.is(String(raw[i]!.data['text']).replace('-1', '-2'), String(raw[i + 1]!.data['text']));
  t.deepEqual(new Set(raw.map((event) => event.data['text'])).size, writers * 2);
});

test('two event logs on one store (as two processes would be) racing with `any` re-read the head and all land', async (t) => {
  const { eventLog, testStore, registry } = await openTestEventLog(t, [NoteWritten]);
  const other = new EventLog(testStore.store, registry);
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      (i % 2 === 0 ? eventLog : other).append('notes-1', [note(`w${i}`)], {
        expectedRevision: 'any',
        context: testContext(),
      }),
    ),
  );
  const raw = await testStore.store.readStream('notes-1');
  t.is(raw.length, 12);
  t.is(firstBrokenLink(raw), -1);
});

test('an event that fails its codec, or has no codec, is refused before anything is written', async (t) => {
  const { eventLog, testStore } = await openTestEventLog(t, [NoteWritten]);
  const context = testContext();
  await t.throwsAsync(
    eventLog.append('notes-1', [note('ok'), { type: 'NoteWritten', data: { text: 5 } }], {
      expectedRevision: 'any',
      context,
    }),
    {
      instanceOf: InvalidEventDataError,
      message: /text: expected string, got a number/,
    },
  );
  await t.throwsAsync(
    eventLog.append('notes-1', [{ type: 'Unheard', data: {} }], { expectedRevision: 'any', context }),
    {
      instanceOf: UnknownEventTypeError,
    },
  );
  await t.throwsAsync(
    eventLog.append('notes-1', [note('a')], { expectedRevision: 'any', context, eventIds: ['one', 'two'] }),
    {
      message: /1 events but 2 ids/,
    },
  );
  t.deepEqual(await testStore.store.readAll(), []);
});

test('a retried append with the same ids at the same revision is a no-op answering like the first', async (t) => {
  const { eventLog, testStore } = await openTestEventLog(t, [NoteWritten]);
  const ids = ['8f7c1a90-0000-4000-8000-000000000001', '8f7c1a90-0000-4000-8000-000000000002'];
  const options = { expectedRevision: 'no_stream' as const, context: testContext(), eventIds: ids };
  const first = await eventLog.append('notes-1', [note('a'), note('b')], options);
  const again = await eventLog.append('notes-1', [note('a'), note('b')], options);
  t.deepEqual(again, first);
  const raw = await testStore.store.readStream('notes-1');
  t.deepEqual(
    raw.map((event) => event.id),
    ids,
  );
});

test('reads and subscriptions hand back decoded, typed events', async (t) => {
  const { eventLog } = await openTestEventLog(t, [NoteWritten]);
  const context = testContext();
  await eventLog.append('notes-1', [note('a')], { expectedRevision: 'any', context });
  await eventLog.append('notes-2', [note('b')], { expectedRevision: 'any', context });
  const all = await eventLog.readAll();
  t.deepEqual(
    all.map((stored) => [stored.stream, stored.position, (stored.event as NoteWritten).data.text]),
    [
      ['notes-1', 0, 'a'],
      ['notes-2', 1, 'b'],
    ],
  );

  const subscription = eventLog.subscribeToStream<NoteWritten>('notes-1');
  const seen: string[] = [];
  const done = (async () => {
    for await (const stored of subscription) {
      seen.push(stored.event.data.text);
      if (seen.length === 2) break;
    }
  })();
  await eventLog.append('notes-1', [note('c')], { expectedRevision: 'any', context });
  await done;
  await subscription.stop();
  t.deepEqual(seen, ['a', 'c']);

  const fromAll = eventLog.subscribeToAll({ afterPosition: 1 });
  for await (const stored of fromAll) {
    t.is(stored.position, 2);
    break;
  }
  await fromAll.stop();
});
