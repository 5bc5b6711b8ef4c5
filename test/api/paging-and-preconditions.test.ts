import test from 'ava';
import type { Context } from 'koa';
import * as io from 'io-ts';
import { ProblemError } from '../../src/api/problem.js';
import { decodeQuery, encodeCursor, ifMatchRevision, pageOf, paginate } from '../../src/api/validation.js';

/** Only what these helpers read of a Koa context. */
const contextWith = (query: Record<string, string | string[]>, headers: Record<string, string> = {}): Context =>
  ({ query, get: (name: string) => headers[name.toLowerCase()] ?? '' }) as unknown as Context;

const problemOf = (fn: () => unknown): ProblemError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
  throw new Error('expected a problem');
};

test('paging: limit defaults to 50, allows 1..500, and bad values are named', (t) => {
  t.deepEqual(pageOf(contextWith({})), { limit: 50, offset: 0 });
  t.deepEqual(pageOf(contextWith({ limit: '500' })), { limit: 500, offset: 0 });
  for (const limit of ['0', '501', 'ten', '-1', '1.5']) {
    const problem = problemOf(() => pageOf(contextWith({ limit })));
    t.is(problem.status, 400, limit);
    t.deepEqual(
      problem.errors?.map((error) => error.path),
      ['query.limit'],
    );
  }
  const both = problemOf(() => pageOf(contextWith({ limit: 'x', cursor: 'not-a-cursor' })));
  t.deepEqual(
    both.errors?.map((error) => error.path),
    ['query.limit', 'query.cursor'],
  );
});

test('pagination walks a list with opaque cursors and ends with null', (t) => {
  const items = Array.from({ length: 7 }, (_, i) => i);
  const first = paginate(items, pageOf(contextWith({ limit: '3' })));
  t.deepEqual(first.items, [0, 1, 2]);
  const second = paginate(items, pageOf(contextWith({ limit: '3', cursor: first.next_cursor! })));
  t.deepEqual(second.items, [3, 4, 5]);
  const last = paginate(items, pageOf(contextWith({ limit: '3', cursor: second.next_cursor! })));
  t.deepEqual(last, { items: [6], next_cursor: null });
  t.is(pageOf(contextWith({ cursor: encodeCursor(42) })).offset, 42);
});

test('If-Match takes a quoted revision; absent is undefined; anything else is 400', (t) => {
  t.is(ifMatchRevision(contextWith({}, { 'if-match': '"7"' })), 7);
  t.is(ifMatchRevision(contextWith({}, { 'if-match': 'W/"0"' })), 0);
  t.is(ifMatchRevision(contextWith({})), undefined);
  for (const value of ['7', '"x"', '"-1"', '*'])
    t.is(problemOf(() => ifMatchRevision(contextWith({}, { 'if-match': value }))).status, 400, value);
});

test('decodeQuery names failing parameters as query.<name>', (t) => {
  const Query = io.type({ status: io.keyof({ active: null, closed: null }), project: io.string });
  t.deepEqual(decodeQuery(Query, contextWith({ status: 'active', project: 'billing' })), {
    status: 'active',
    project: 'billing',
  });
  const problem = problemOf(() => decodeQuery(Query, contextWith({ status: 'sleeping' })));
  t.deepEqual(problem.errors?.map((error) => error.path).sort(), ['query.project', 'query.status']);
});
