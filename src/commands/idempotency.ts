import { createHash } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from './decider.js';
import { assertNever } from './domain-error.js';
import type { IdempotencyEvent, RecordedResponse } from './idempotency-events.js';

/** The life of one Idempotency-Key (per actor), folded from its stream. */
export type IdempotencyState =
  | { readonly status: 'absent' }
  | {
      readonly status: 'in_progress';
      readonly attemptId: string;
      readonly requestHash: string;
      readonly leaseEndsAt: number;
    }
  | { readonly status: 'completed'; readonly requestHash: string; readonly response: RecordedResponse }
  | { readonly status: 'abandoned'; readonly requestHash: string };

export type IdempotencyCommand =
  | {
      readonly type: 'StartIdempotentRequest';
      readonly attemptId: string;
      readonly requestHash: string;
      readonly method: string;
      readonly path: string;
      readonly now: Date;
      readonly leaseMs: number;
    }
  | { readonly type: 'RecordIdempotentResponse'; readonly attemptId: string; readonly response: RecordedResponse }
  | { readonly type: 'AbandonIdempotentRequest'; readonly attemptId: string; readonly reason: string };

/** Why a request may not run now; not errors of the client except `mismatch`. */
export type IdempotencyRefusal =
  | { readonly kind: 'replay'; readonly response: RecordedResponse }
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'in_progress'; readonly leaseEndsAt: number }
  | { readonly kind: 'lease_lost' };

export const idempotencyDecider: Decider<IdempotencyCommand, IdempotencyEvent, IdempotencyState, IdempotencyRefusal> = {
  initialState: () => ({ status: 'absent' }),

  evolve: (state, event) => {
    switch (event.type) {
      case 'IdempotentRequestStarted':
        return {
          status: 'in_progress',
          attemptId: event.data.attempt_id,
          requestHash: event.data.request_hash,
          leaseEndsAt: Date.parse(event.data.started_at) + event.data.lease_ms,
        };
      case 'IdempotentResponseRecorded':
        return { status: 'completed', requestHash: event.data.request_hash, response: event.data.response };
      case 'IdempotentRequestAbandoned':
        return { status: 'abandoned', requestHash: event.data.request_hash };
      default:
        return assertNever(event);
    }
  },

  decide: (command, state) => {
    switch (command.type) {
      case 'StartIdempotentRequest':
        return decideStart(command, state);
      case 'RecordIdempotentResponse':
        if (state.status !== 'in_progress' || state.attemptId !== command.attemptId)
          return E.left({ kind: 'lease_lost' });
        return E.right([
          {
            type: 'IdempotentResponseRecorded',
            data: { attempt_id: command.attemptId, request_hash: state.requestHash, response: command.response },
          },
        ]);
      case 'AbandonIdempotentRequest':
        if (state.status !== 'in_progress' || state.attemptId !== command.attemptId)
          return E.left({ kind: 'lease_lost' });
        return E.right([
          {
            type: 'IdempotentRequestAbandoned',
            data: { attempt_id: command.attemptId, request_hash: state.requestHash, reason: command.reason },
          },
        ]);
      default:
        return assertNever(command);
    }
  },
};

const decideStart = (
  command: Extract<IdempotencyCommand, { type: 'StartIdempotentRequest' }>,
  state: IdempotencyState,
): E.Either<IdempotencyRefusal, readonly IdempotencyEvent[]> => {
  const started: IdempotencyEvent = {
    type: 'IdempotentRequestStarted',
    data: {
      attempt_id: command.attemptId,
      request_hash: command.requestHash,
      method: command.method,
      path: command.path,
      started_at: command.now.toISOString(),
      lease_ms: command.leaseMs,
    },
  };
  switch (state.status) {
    case 'absent':
    case 'abandoned':
      return E.right([started]);
    case 'in_progress':
      if (state.requestHash !== command.requestHash) return E.left({ kind: 'mismatch' });
      // A holder that outlived its lease is presumed dead (crashed process): take the key over.
      if (command.now.getTime() >= state.leaseEndsAt) return E.right([started]);
      return E.left({ kind: 'in_progress', leaseEndsAt: state.leaseEndsAt });
    case 'completed':
      if (state.requestHash !== command.requestHash) return E.left({ kind: 'mismatch' });
      return E.left({ kind: 'replay', response: state.response });
    default:
      return assertNever(state);
  }
};

/** One record per scope (who asks) and key; hashed so any printable key makes a bounded name. */
export const idempotencyRecordFor = (scope: string, key: string): string =>
  createHash('sha256').update(scope).update('\n').update(key).digest('hex');

/** What makes two requests "the same": method, path (with query) and the raw body bytes. */
export const requestHashOf = (method: string, path: string, rawBody: string | Buffer): string =>
  createHash('sha256')
    .update(method.toUpperCase())
    .update('\n')
    .update(path)
    .update('\n')
    .update(rawBody)
    .digest('hex');

const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** Null when the key is acceptable, otherwise why not. */
export const idempotencyKeyProblem = (key: string): string | null => {
  if (key.length === 0) return 'must not be empty';
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH)
    return `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters (got ${key.length})`;
  if (!/^[\x20-\x7e]+$/.test(key)) return 'must contain printable ASCII characters only';
  return null;
};
