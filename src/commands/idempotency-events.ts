import * as t from 'io-ts';
import { defineEvent, jsonCodec, type EventOf } from '../events/domain-event.js';
import type { JsonValue } from '../eventstore/port.js';

const JsonValueCodec: t.Type<JsonValue> = t.recursion('JsonValue', () =>
  t.union([t.null, t.boolean, t.number, t.string, t.array(JsonValueCodec), t.record(t.string, JsonValueCodec)]),
);

const ProblemBodyCodec = t.intersection([
  t.type({ type: t.string, title: t.string, status: t.number, detail: t.string }),
  t.partial({ errors: t.array(t.type({ path: t.string, message: t.string })) }),
]);

/**
 * The first answer to a request, as a retry must see it again. `json` and `text` bodies are
 * replayed as they were; a `problem` is re-raised as a ProblemError so the error middleware
 * renders it exactly like a fresh one.
 */
const RecordedResponseCodec = t.union([
  t.type({ format: t.literal('json'), status: t.number, headers: t.record(t.string, t.string), body: JsonValueCodec }),
  t.type({ format: t.literal('text'), status: t.number, headers: t.record(t.string, t.string), body: t.string }),
  t.type({ format: t.literal('empty'), status: t.number, headers: t.record(t.string, t.string) }),
  t.type({
    format: t.literal('problem'),
    status: t.number,
    headers: t.record(t.string, t.string),
    body: ProblemBodyCodec,
  }),
]);
export type RecordedResponse = t.TypeOf<typeof RecordedResponseCodec>;

/** A request with an Idempotency-Key began; until its lease runs out, others with the key wait. */
export const IdempotentRequestStarted = defineEvent(
  'IdempotentRequestStarted',
  jsonCodec(
    t.type({
      attempt_id: t.string,
      /** SHA-256 of method, path and raw body: the same key with another body is refused. */
      request_hash: t.string,
      method: t.string,
      path: t.string,
      started_at: t.string,
      lease_ms: t.number,
    }),
  ),
);

/** The response a retry with the same key and body gets back, without running the command again. */
export const IdempotentResponseRecorded = defineEvent(
  'IdempotentResponseRecorded',
  jsonCodec(t.type({ attempt_id: t.string, request_hash: t.string, response: RecordedResponseCodec })),
);

/** The attempt ended without a response worth repeating (a server error): the key is free again. */
export const IdempotentRequestAbandoned = defineEvent(
  'IdempotentRequestAbandoned',
  jsonCodec(t.type({ attempt_id: t.string, request_hash: t.string, reason: t.string })),
);

export type IdempotencyEvent =
  | EventOf<typeof IdempotentRequestStarted>
  | EventOf<typeof IdempotentResponseRecorded>
  | EventOf<typeof IdempotentRequestAbandoned>;
