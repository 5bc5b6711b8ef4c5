import test from 'ava';
import {
  idempotencyDecider,
  idempotencyKeyProblem,
  idempotencyRecordFor,
  requestHashOf,
  type IdempotencyCommand,
} from '../../src/commands/idempotency.js';
import type { IdempotencyEvent, RecordedResponse } from '../../src/commands/idempotency-events.js';
import { deciderSpec } from '../support/decider-spec.js';

const spec = deciderSpec(idempotencyDecider);
const t0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const start = (attemptId: string, requestHash: string, now: Date): IdempotencyCommand => ({
  type: 'StartIdempotentRequest',
  attemptId,
  requestHash,
  method: 'POST',
  path: '/api/sessions',
  now,
  leaseMs: 1000,
});
const started = (attemptId: string, requestHash: string, now: Date): IdempotencyEvent => ({
  type: 'IdempotentRequestStarted',
  data: {
    attempt_id: attemptId,
    request_hash: requestHash,
    method: 'POST',
    path: '/api/sessions',
    started_at: now.toISOString(),
    lease_ms: 1000,
  },
});
const response: RecordedResponse = {
  format: 'json',
  status: 202,
  headers: { etag: '"0"' },
  body: { session_id: 's1' },
};
const recorded: IdempotencyEvent = {
  type: 'IdempotentResponseRecorded',
  data: { attempt_id: 'a1', request_hash: 'h1', response },
};

test('the first request with a key starts', (t) => {
  spec
    .given([])
    .when(start('a1', 'h1', t0))
    .then(t, [started('a1', 'h1', t0)]);
});

test('a retry with the same request gets the recorded response; another request is refused', (t) => {
  spec
    .given([started('a1', 'h1', t0), recorded])
    .when(start('a2', 'h1', at(5)))
    .thenFails(t, { kind: 'replay', response });
  spec
    .given([started('a1', 'h1', t0), recorded])
    .when(start('a2', 'h2', at(5)))
    .thenFails(t, { kind: 'mismatch' });
});

test('while the first runs, the same request waits and another is refused', (t) => {
  spec
    .given([started('a1', 'h1', t0)])
    .when(start('a2', 'h1', at(999)))
    .thenFails(t, { kind: 'in_progress', leaseEndsAt: at(1000).getTime() });
  spec
    .given([started('a1', 'h1', t0)])
    .when(start('a2', 'h2', at(10)))
    .thenFails(t, { kind: 'mismatch' });
});

test('a holder past its lease is presumed dead and the key is taken over', (t) => {
  spec
    .given([started('a1', 'h1', t0)])
    .when(start('a2', 'h1', at(1000)))
    .then(t, [started('a2', 'h1', at(1000))]);
});

test('only the current attempt may record or abandon', (t) => {
  spec
    .given([started('a1', 'h1', t0)])
    .when({ type: 'RecordIdempotentResponse', attemptId: 'a1', response })
    .then(t, [recorded]);
  spec
    .given([started('a1', 'h1', t0), started('a2', 'h1', at(1000))])
    .when({ type: 'RecordIdempotentResponse', attemptId: 'a1', response })
    .thenFails(t, {
      kind: 'lease_lost',
    });
  spec
    .given([])
    .when({ type: 'AbandonIdempotentRequest', attemptId: 'a1', reason: 'x' })
    .thenFails(t, { kind: 'lease_lost' });
  spec
    .given([started('a1', 'h1', t0)])
    .when({ type: 'AbandonIdempotentRequest', attemptId: 'a1', reason: 'status 500 is not repeated' })
    .then(t, [
      {
        type: 'IdempotentRequestAbandoned',
        data: { attempt_id: 'a1', request_hash: 'h1', reason: 'status 500 is not repeated' },
      },
    ]);
});

test('after an abandoned attempt the key is free again', (t) => {
  const abandoned: IdempotencyEvent = {
    type: 'IdempotentRequestAbandoned',
    data: { attempt_id: 'a1', request_hash: 'h1', reason: 'x' },
  };
  spec
    .given([started('a1', 'h1', t0), abandoned])
    .when(start('a2', 'h1', at(1)))
    .then(t, [started('a2', 'h1', at(1))]);
});

test('keys: at most 255 printable ASCII characters', (t) => {
  t.is(idempotencyKeyProblem('slack-retry 1f3e:9'), null);
  t.is(idempotencyKeyProblem('k'.repeat(255)), null);
  t.is(idempotencyKeyProblem(''), 'must not be empty');
  t.is(idempotencyKeyProblem('k'.repeat(256)), 'must be at most 255 characters (got 256)');
  t.is(idempotencyKeyProblem('clé'), 'must contain printable ASCII characters only');
  t.is(idempotencyKeyProblem('tab\there'), 'must contain printable ASCII characters only');
});

test('records are per scope and key; the request hash covers method, path and body', (t) => {
  t.regex(idempotencyRecordFor('token:slack', 'k1'), /^[0-9a-f]{64}$/);
  t.not(idempotencyRecordFor('token:slack', 'k1'), idempotencyRecordFor('token:other', 'k1'));
  t.not(idempotencyRecordFor('token:slack', 'k1'), idempotencyRecordFor('token:slack', 'k2'));
  const base = requestHashOf('POST', '/a', '{"x":1}');
  t.is(requestHashOf('post', '/a', Buffer.from('{"x":1}')), base);
  t.not(requestHashOf('POST', '/b', '{"x":1}'), base);
  t.not(requestHashOf('POST', '/a', '{"x":2}'), base);
  t.not(requestHashOf('PUT', '/a', '{"x":1}'), base);
});
