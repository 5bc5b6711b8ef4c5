import test from 'ava';
import * as io from 'io-ts';
import { defineEvent, jsonCodec } from '../../src/events/domain-event.js';
import { EventRegistry, InvalidEventDataError, UnknownEventTypeError } from '../../src/events/registry.js';
import { decodeRecordedEvent } from '../../src/events/stored-event.js';
import type { RecordedEvent } from '../../src/eventstore/port.js';

const Pinged = defineEvent('Pinged', jsonCodec(io.type({ count: io.number })));
const registry = new EventRegistry([Pinged]);

const metadata = {
  actor: 'tester',
  correlation_id: 'c-1',
  causation_id: 'c-1',
  recorded_at: '2030-01-01T00:00:00.000Z',
  hash: 'a'.repeat(64),
};
const recorded = (overrides: Partial<RecordedEvent> = {}): RecordedEvent => ({
  id: 'e-1',
  stream: 'ping-1',
  revision: 3,
  position: 1234,
  type: 'Pinged',
  data: { count: 2 },
  metadata,
  ...overrides,
});

test('a recorded event decodes with its place in the log and its metadata', (t) => {
  const stored = decodeRecordedEvent(registry, recorded());
  t.deepEqual(stored, {
    id: 'e-1',
    stream: 'ping-1',
    revision: 3,
    position: 1234,
    event: { type: 'Pinged', data: { count: 2 } },
    metadata,
  });
});

test('an event whose metadata lacks a field is refused, naming the field', (t) => {
  const { hash: _hash, ...withoutHash } = metadata;
  const error = t.throws(() => decodeRecordedEvent(registry, recorded({ metadata: withoutHash })), {
    instanceOf: InvalidEventDataError,
  });
  t.is(error?.type, 'Pinged metadata');
  t.deepEqual(error?.problems, ['hash: required string']);
});

test('an event whose data fails its codec, or whose type is unknown, is refused', (t) => {
  t.throws(() => decodeRecordedEvent(registry, recorded({ data: { count: 'two' } })), {
    instanceOf: InvalidEventDataError,
    message: /count: expected number, got a string/,
  });
  t.throws(() => decodeRecordedEvent(registry, recorded({ type: 'Ponged' })), { instanceOf: UnknownEventTypeError });
});
