import test from 'ava';
import { domainErrorToProblem } from '../../src/api/domain-problem.js';
import { conflict, invalid, notFound, unprocessable } from '../../src/commands/domain-error.js';

test('each refusal maps to the status and problem document the contract names', (t) => {
  const missing = domainErrorToProblem(notFound('session s1 does not exist'));
  t.is(missing.status, 404);
  t.deepEqual(missing.toDocument(), {
    type: 'https://gateway.dev/problems/not-found',
    title: 'Not Found',
    status: 404,
    detail: 'session s1 does not exist',
  });

  const wrongState = domainErrorToProblem(conflict('closed', 'the session cannot take messages'));
  t.is(wrongState.status, 409);
  t.is(wrongState.detail, 'the session cannot take messages (current state: closed)');

  const bad = domainErrorToProblem(
    invalid([
      { path: 'task.title', message: 'required string' },
      { path: 'repos[0]', message: 'expected string, got a number' },
    ]),
  );
  t.is(bad.status, 400);
  t.deepEqual(bad.toDocument().errors, [
    { path: 'task.title', message: 'required string' },
    { path: 'repos[0]', message: 'expected string, got a number' },
  ]);

  t.is(domainErrorToProblem(unprocessable('key reused')).status, 422);
});

test('a stale If-Match answers 412 with the current ETag; contention answers 409 with Retry-After', (t) => {
  const stale = domainErrorToProblem({
    kind: 'precondition_failed',
    stream: 'session-1',
    expectedRevision: 3,
    actualRevision: 5,
  });
  t.is(stale.status, 412);
  t.is(stale.detail, 'If-Match names revision 3 but session-1 is at revision 5');
  t.deepEqual(stale.headers, { ETag: '"5"' });

  const gone = domainErrorToProblem({
    kind: 'precondition_failed',
    stream: 'session-1',
    expectedRevision: 0,
    actualRevision: -1,
  });
  t.regex(gone.detail, /does not exist/);
  t.deepEqual(gone.headers, {});

  const busy = domainErrorToProblem({ kind: 'contended', stream: 'session-1', attempts: 4 });
  t.is(busy.status, 409);
  t.is(busy.headers['Retry-After'], '1');
  t.regex(busy.detail, /kept changing during 4 attempts/);
});
