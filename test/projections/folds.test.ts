import test from 'ava';
import { logSummary } from '../../projections/log-summary.js';
import { streamCatalog } from '../../projections/stream-catalog.js';
import { foldDocuments, foldProjection } from '../../src/projections/projection.js';
import { storedEvents } from '../support/stored-events.js';

const history = storedEvents([
  { stream: 'session-1', event: { type: 'SessionCreated', data: {} }, actor: 'slack' },
  { stream: 'session-2', event: { type: 'SessionCreated', data: {} }, actor: 'slack' },
  { stream: 'session-1', event: { type: 'MessageSent', data: {} }, actor: 'slack' },
  { stream: 'session-1', event: { type: 'AgentReplied', data: {} }, actor: 'pm:agent' },
]);

test('the stream catalog lists each stream with its revision, size, span and last activity', (t) => {
  const catalog = foldDocuments(streamCatalog, history);
  t.deepEqual([...catalog.keys()], ['session-1', 'session-2']);
  t.deepEqual(catalog.get('session-1'), {
    stream: 'session-1',
    revision: 2,
    event_count: 3,
    first_position: 0,
    last_position: 3,
    last_event_type: 'AgentReplied',
    created_at: '2030-01-01T00:00:00.000Z',
    updated_at: '2030-01-01T00:00:03.000Z',
  });
  t.like(catalog.get('session-2'), {
    revision: 0,
    event_count: 1,
    first_position: 1,
    last_position: 1,
    last_event_type: 'SessionCreated',
  });
});

test('a catalog document is a value: folding more events replaces it, never changes the old one', (t) => {
  const before = foldDocuments(streamCatalog, history.slice(0, 1)).get('session-1');
  const after = streamCatalog.evolve(before, history[2]!, 'session-1');
  t.is(before?.event_count, 1);
  t.is(after?.event_count, 2);
});

test('the log summary counts events by type and by actor up to the last position', (t) => {
  t.deepEqual(foldProjection(logSummary, []), {
    event_count: 0,
    last_position: -1,
    last_recorded_at: null,
    events_by_type: {},
    events_by_actor: {},
  });
  t.deepEqual(foldProjection(logSummary, history), {
    event_count: 4,
    last_position: 3,
    last_recorded_at: '2030-01-01T00:00:03.000Z',
    events_by_type: { SessionCreated: 2, MessageSent: 1, AgentReplied: 1 },
    events_by_actor: { slack: 3, 'pm:agent': 1 },
  });
});

test('folding is deterministic: the same history gives the same views', (t) => {
  t.deepEqual(foldProjection(logSummary, history), foldProjection(logSummary, history));
  t.deepEqual([...foldDocuments(streamCatalog, history)], [...foldDocuments(streamCatalog, history)]);
});
