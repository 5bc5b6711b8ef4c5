import test from 'ava';
import * as io from 'io-ts';
import { defineEvent, jsonCodec } from '../../src/events/domain-event.js';
import { EventRegistry, InvalidEventDataError, UnknownEventTypeError } from '../../src/events/registry.js';

const DateFromIso = new io.Type<Date, string, unknown>(
  'DateFromIso',
  (value): value is Date => value instanceof Date,
  (value, context) => {
    if (typeof value !== 'string') return io.failure(value, context, 'expected an ISO date string');
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? io.failure(value, context, 'not a date') : io.success(date);
  },
  (date) => date.toISOString(),
);

const TaskAdded = defineEvent(
  'TaskAdded',
  jsonCodec(io.type({ task_id: io.string, title: io.string, due: DateFromIso, tags: io.array(io.string) })),
);
const TaskDone = defineEvent('TaskDone', jsonCodec(io.type({ task_id: io.string })));

test('encode turns typed data into the JSON the log stores, decode turns it back', (t) => {
  const registry = new EventRegistry([TaskAdded, TaskDone]);
  const data = { task_id: 't1', title: 'Write tests', due: new Date('2030-01-02T03:04:05.000Z'), tags: ['a'] };
  const encoded = registry.encode('TaskAdded', data);
  t.deepEqual(encoded, { task_id: 't1', title: 'Write tests', due: '2030-01-02T03:04:05.000Z', tags: ['a'] });
  t.deepEqual(JSON.parse(JSON.stringify(encoded)), encoded, 'the encoded form survives JSON');
  t.deepEqual(registry.decode('TaskAdded', encoded), data);
});

test('encoding data that does not match its codec names every bad field and writes nothing', (t) => {
  const registry = new EventRegistry([TaskAdded]);
  const error = t.throws(
    () => registry.encode('TaskAdded', { task_id: 42, title: 'x', due: 'not-a-date-object', tags: [1] }),
    {
      instanceOf: InvalidEventDataError,
    },
  );
  t.is(error?.type, 'TaskAdded');
  const text = error?.problems.join('\n') ?? '';
  t.regex(text, /task_id/);
  t.regex(text, /tags/);
  t.regex(error?.message ?? '', /TaskAdded does not match its codec/);
});

test('decoding stored data that fails its codec is refused with the failing path', (t) => {
  const registry = new EventRegistry([TaskAdded]);
  const error = t.throws(
    () => registry.decode('TaskAdded', { task_id: 't1', title: 'x', due: 'yesterday-ish', tags: [] }),
    {
      instanceOf: InvalidEventDataError,
    },
  );
  t.regex(error?.problems.join('\n') ?? '', /due/);
});

test('an event type without a codec can be neither appended nor read', (t) => {
  const registry = new EventRegistry([TaskDone]);
  const onEncode = t.throws(() => registry.encode('TaskAdded', {}), { instanceOf: UnknownEventTypeError });
  t.is(onEncode?.type, 'TaskAdded');
  t.throws(() => registry.decode('Mystery', {}), {
    instanceOf: UnknownEventTypeError,
    message: /no codec is registered for event type Mystery/,
  });
  t.false(registry.has('TaskAdded'));
  t.true(registry.has('TaskDone'));
});

test('registering one definition twice is harmless; two definitions of one type are refused', (t) => {
  const registry = new EventRegistry([TaskDone]);
  registry.register(TaskDone);
  t.true(registry.has('TaskDone'));
  const impostor = defineEvent('TaskDone', jsonCodec(io.type({ other: io.number })));
  t.throws(() => registry.register(impostor), { message: /TaskDone is registered twice/ });
  t.throws(() => new EventRegistry([TaskDone, impostor]), { message: /registered twice/ });
});
