import test from 'ava';
import { ANY, NO_STREAM, STREAM_EXISTS, WrongExpectedVersionError, UnavailableError } from '@eventstore/db-client';
import { openEventStoreDb } from '../../src/eventstore/eventstoredb/index.js';
import { isSystem, toClientRevision, toPortError } from '../../src/eventstore/eventstoredb/mapping.js';
import { EventStoreUnavailableError, WrongExpectedRevisionError } from '../../src/eventstore/port.js';
import { eventStoreContract } from './contract.js';

const connectionString = process.env['EVENTSTORE_CONNECTION_STRING'];

if (connectionString) {
  eventStoreContract('eventstoredb', async () => {
    const store = await openEventStoreDb(connectionString);
    return { store, cleanup: () => store.close() };
  });
} else {
  const notice =
    'SKIPPED: the EventStoreDB contract suite did not run because EVENTSTORE_CONNECTION_STRING is not set. ' +
    'Run it with: EVENTSTORE_CONNECTION_STRING="esdb://localhost:2113?tls=false" npx ava test/eventstore/eventstoredb.test.ts';
  console.log(`\n  ${notice}\n`);
  test.skip(`eventstoredb: contract suite ${notice}`, () => {});
}

test('eventstoredb mapping: expected revisions', (t) => {
  t.is(toClientRevision('any'), ANY);
  t.is(toClientRevision('no_stream'), NO_STREAM);
  t.is(toClientRevision('stream_exists'), STREAM_EXISTS);
  t.is(toClientRevision(7), 7n);
});

test('eventstoredb mapping: wrong expected version becomes the port error with the actual revision', (t) => {
  const existing = new WrongExpectedVersionError(undefined, { streamName: 's', expected: 3n, current: 5n });
  const mapped = toPortError(existing, 's', 3);
  t.true(mapped instanceof WrongExpectedRevisionError);
  t.is((mapped as WrongExpectedRevisionError).actual, 5);
  const missing = toPortError(
    new WrongExpectedVersionError(undefined, { streamName: 's', expected: 0n, current: NO_STREAM }),
    's',
    0,
  );
  t.is((missing as WrongExpectedRevisionError).actual, -1);
});

test('eventstoredb mapping: unavailable becomes EventStoreUnavailableError; other errors pass through', (t) => {
  const unavailable = toPortError(
    new UnavailableError({ message: 'down', code: 14, details: 'down', metadata: undefined } as never),
    's',
    'any',
  );
  t.true(unavailable instanceof EventStoreUnavailableError);
  const other = new Error('other');
  t.is(toPortError(other, 's', 'any'), other);
});

test('eventstoredb mapping: system streams and types are not the gateway’s', (t) => {
  t.true(isSystem('$stats', 'x'));
  t.true(isSystem('session-1', '$metadata'));
  t.false(isSystem('session-1', 'SessionCreated'));
});
