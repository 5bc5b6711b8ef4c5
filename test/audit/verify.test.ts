import test, { type ExecutionContext } from 'ava';
import { storeSource, type AuditSource } from '../../src/audit/source.js';
import { verifyLog, type Verification } from '../../src/audit/verify.js';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import { counterEventDefinitions } from '../support/counter.js';
import { openTestEventLog, testContext } from '../support/test-store.js';
import { serveAudit } from './audit-app.js';
import {
  allEvents,
  copyOf,
  indexOf,
  keeper,
  makeHistory,
  openLog,
  readRecords,
  writeRecords,
  type History,
  type LogRecord,
} from './real-log.js';

const kept = keeper();
let history: History;
test.before(async () => {
  history = await makeHistory(kept);
});
test.after.always(() => kept.run());

const billingStream = (): string => `session-${history.billing.sessionId}`;

/**
 * Copies the history's log, lets `tamper` rewrite its records (re-encoded with valid checksums,
 * as an attacker with write access to the file would), opens the copy with the real embedded
 * store, and verifies it with the function and through GET /api/audit/verify: both must agree.
 */
const verifyTampered = async (
  t: ExecutionContext,
  tamper: (records: LogRecord[]) => LogRecord[],
): Promise<{ verdict: Verification; events: RecordedEvent[] }> => {
  const dataDir = await copyOf(t, history);
  if (tamper !== untouched) await writeRecords(dataDir, tamper(await readRecords(dataDir)));
  const store = await openLog(t, dataDir);
  const verdict = await verifyLog(storeSource(store));
  const audit = await serveAudit(t, store);
  const response = await audit.get('/api/audit/verify');
  t.is(response.status, 200);
  t.deepEqual(await response.json(), verdict, 'the endpoint answers what the function found');
  return { verdict, events: await allEvents(store) };
};
const untouched = (records: LogRecord[]): LogRecord[] => records;

/** Where the `revision`-th event of the billing session sits in `$all` of the tampered copy: checking stops there. */
const positionIn = (events: readonly RecordedEvent[], stream: string, revision: number): number =>
  events.find((event) => event.stream === stream && event.revision === revision)!.position;

test('an untouched log verifies: every event of every stream checked', async (t) => {
  const { verdict, events } = await verifyTampered(t, untouched);
  t.true(new Set(events.map((event) => event.stream)).size >= 5, 'the log has several streams');
  t.deepEqual(verdict, { ok: true, events_checked: events.length, first_bad: null });
});

test('an edited event is named, as edited: the next event still chains to its original hash', async (t) => {
  const stream = billingStream();
  const { verdict, events } = await verifyTampered(t, (records) => {
    const index = indexOf(records, stream, 1);
    const record = records[index]!;
    t.is(record.body.type, 'RouteSuggested');
    records[index] = {
      ...record,
      body: { ...record.body, data: { ...(record.body.data as object), suggested: 'builder' } },
    };
    return records;
  });
  t.deepEqual(verdict, {
    ok: false,
    events_checked: positionIn(events, stream, 1) + 1,
    first_bad: {
      stream,
      revision: 1,
      reason:
        'hash mismatch: the event was edited after it was written (the next event still chains to its original hash)',
    },
  });
});

test('a dropped event is named: the event after it was written one revision later than it now stands', async (t) => {
  const stream = billingStream();
  const { verdict } = await verifyTampered(t, (records) =>
    records.filter((_, index) => index !== indexOf(records, stream, 1)),
  );
  t.false(verdict.ok);
  t.deepEqual(verdict.first_bad, {
    stream,
    revision: 1,
    reason: 'revision 2 follows 0: an event is missing (the log now numbers this event 1)',
  });
});

test('dropping the first event of a stream is named too', async (t) => {
  const stream = billingStream();
  const { verdict } = await verifyTampered(t, (records) =>
    records.filter((_, index) => index !== indexOf(records, stream, 0)),
  );
  t.deepEqual(verdict.first_bad, {
    stream,
    revision: 0,
    reason: 'revision 1 is the first of its stream: an event is missing before it (the log now numbers it 0)',
  });
});

test('two events of a stream swapped are named as out of order', async (t) => {
  const stream = billingStream();
  const { verdict } = await verifyTampered(t, (records) => {
    const first = indexOf(records, stream, 1);
    const second = indexOf(records, stream, 3);
    [records[first], records[second]] = [records[second]!, records[first]!];
    return records;
  });
  t.deepEqual(verdict.first_bad, {
    stream,
    revision: 1,
    reason: 'out of order: the event now at revision 3 was written as revision 1, before this one',
  });
});

test('a copy of an event inserted after it is named', async (t) => {
  const stream = billingStream();
  const { verdict } = await verifyTampered(t, (records) => {
    const index = indexOf(records, stream, 1);
    return [...records.slice(0, index + 1), records[index]!, ...records.slice(index + 1)];
  });
  t.deepEqual(verdict.first_bad, {
    stream,
    revision: 2,
    reason:
      'written as revision 1 but stands at revision 2: an event was inserted before it, or it is a copy of an earlier event',
  });
});

test('an edited last event of a stream (nothing after it to tell more) is a plain hash mismatch', async (t) => {
  const { verdict, events } = await verifyTampered(t, (records) => {
    const last = records.length - 1;
    records[last] = {
      ...records[last]!,
      body: { ...records[last]!.body, metadata: { ...(records[last]!.body.metadata as object), actor: 'mallory' } },
    };
    return records;
  });
  const last = events[events.length - 1]!;
  t.deepEqual(verdict, {
    ok: false,
    events_checked: events.length,
    first_bad: {
      stream: last.stream,
      revision: last.revision,
      reason: 'hash mismatch: the event was edited or a predecessor is missing',
    },
  });
});

/** A source over events in memory, as a store that keeps its revisions (EventStoreDB) would serve them. */
const memorySource = (events: readonly RecordedEvent[]): AuditSource & { readonly largestRead: () => number } => {
  let largest = 0;
  return {
    readAll: async (from, maxCount) => {
      largest = Math.max(largest, maxCount);
      const start = events.findIndex((event) => event.position >= from);
      return start < 0 ? [] : events.slice(start, start + maxCount);
    },
    readStream: async (stream, from, maxCount) =>
      events.filter((event) => event.stream === stream && event.revision >= from).slice(0, maxCount),
    headPosition: async () => Math.max(-1, ...events.map((event) => event.position)),
    close: async () => undefined,
    largestRead: () => largest,
  };
};

/** Events written by the real EventLog: two counters, five events each, interleaved. */
const counterEvents = async (t: ExecutionContext): Promise<RecordedEvent[]> => {
  const { eventLog, testStore } = await openTestEventLog(t, counterEventDefinitions);
  for (const id of ['a', 'b'])
    await eventLog.append(`counter-${id}`, [{ type: 'CounterOpened', data: { counter_id: id, limit: 100 } }], {
      expectedRevision: 'no_stream',
      context: testContext(),
    });
  for (let i = 1; i < 5; i++) {
    for (const id of ['a', 'b'])
      await eventLog.append(
        `counter-${id}`,
        [{ type: 'CounterIncremented', data: { by: i, at: '2030-01-01T00:00:00.000Z' } }],
        { expectedRevision: i - 1, context: testContext() },
      );
  }
  return testStore.store.readAll();
};

test('a store that keeps revisions shows a removed event as a gap: "revision 3 follows 1: an event is missing"', async (t) => {
  const events = await counterEvents(t);
  const without = events.filter((event) => !(event.stream === 'counter-a' && event.revision === 2));
  t.deepEqual((await verifyLog(memorySource(without))).first_bad, {
    stream: 'counter-a',
    revision: 3,
    reason: 'revision 3 follows 1: an event is missing',
  });
  const truncated = events.filter((event) => !(event.stream === 'counter-b' && event.revision < 2));
  t.deepEqual((await verifyLog(memorySource(truncated))).first_bad, {
    stream: 'counter-b',
    revision: 2,
    reason: 'revision 2 is the first of its stream: 2 events are missing before it',
  });
});

test('revisions or positions that go backwards are out of order', async (t) => {
  const events = await counterEvents(t);
  const revisions = events.map((event) =>
    event.stream === 'counter-a' && event.revision === 3 ? { ...event, revision: 1 } : event,
  );
  t.deepEqual((await verifyLog(memorySource(revisions))).first_bad, {
    stream: 'counter-a',
    revision: 1,
    reason: 'revision 1 follows 2: the stream is out of order',
  });
  const positions = events.map((event, index) => (index === 4 ? { ...event, position: 1 } : event));
  t.deepEqual((await verifyLog(memorySource(positions))).first_bad, {
    stream: events[4]!.stream,
    revision: events[4]!.revision,
    reason: 'position 1 follows 3: the log is out of order',
  });
});

test('an event without the gateway’s metadata is named', async (t) => {
  const events = await counterEvents(t);
  const stripped = events.map((event, index) => (index === 2 ? { ...event, metadata: { actor: 'someone' } } : event));
  const verdict = await verifyLog(memorySource(stripped));
  t.deepEqual(verdict, {
    ok: false,
    events_checked: 3,
    first_bad: {
      stream: events[2]!.stream,
      revision: events[2]!.revision,
      reason:
        'the event carries no valid metadata (actor, correlation_id, causation_id, recorded_at and hash): it was not written by the gateway, or was edited',
    },
  });
});

test('verification reads the log a page at a time and gives the same verdict with any page size', async (t) => {
  const store = await openLog(t, await copyOf(t, history));
  const events = await allEvents(store);
  const source = memorySource(events);
  t.deepEqual(await verifyLog(source, { pageSize: 3 }), { ok: true, events_checked: events.length, first_bad: null });
  t.is(
    source.largestRead(),
    4,
    'never more than a page (and the last event of the page before, where the next begins) is read at once',
  );
  const progress: number[] = [];
  await verifyLog(source, { pageSize: 7, onProgress: (checked) => progress.push(checked) });
  t.deepEqual(
    progress,
    Array.from({ length: Math.ceil(events.length / 7) }, (_, i) => Math.min(events.length, (i + 1) * 7)),
  );
  t.deepEqual(
    await verifyLog(memorySource([])),
    { ok: true, events_checked: 0, first_bad: null },
    'an empty log is intact',
  );
});
