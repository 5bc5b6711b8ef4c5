import { randomUUID } from 'node:crypto';
import { Stream } from 'node:stream';
import canonicalizeModule from 'canonicalize';
import * as E from 'fp-ts/lib/Either.js';
import type { Context, Middleware, Next } from 'koa';
import { ProblemError } from '../problem.js';
import { stateOf } from '../state.js';
import type { JsonValue } from '../../eventstore/port.js';
import { assertNever } from '../../commands/domain-error.js';
import {
  idempotencyDecider,
  idempotencyKeyProblem,
  idempotencyRecordFor,
  requestHashOf,
  type IdempotencyCommand,
} from '../../commands/idempotency.js';
import type { RecordedResponse } from '../../commands/idempotency-events.js';
import type { IdempotencyStore } from '../../commands/idempotency-store.js';

const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/** Response headers a replay must repeat; the rest (dates, request ids) belong to each response. */
const REPLAYED_HEADERS = ['content-type', 'etag', 'location', 'content-location'] as const;

export interface IdempotencyOptions {
  /**
   * The body bytes that make a request "the same". Default: `ctx.request.rawBody` (koa-body with
   * `includeUnparsed: true`), else the RFC 8785 canonical JSON of the parsed body, else empty.
   */
  readonly rawBodyOf?: (ctx: Context) => string | Buffer;
  /** How long a started request holds its key before another may presume it dead. Default 30 s. */
  readonly leaseMs?: number;
  /** How long a concurrent request with the same key waits for the first one's response. Default 10 s. */
  readonly waitMs?: number;
  readonly newAttemptId?: () => string;
  /** The time of leases and expiry. Default the system clock. */
  readonly clock?: () => Date;
}

/** Runs a request once per `Idempotency-Key` within a scope (who asks). */
export type RunOnce = (ctx: Context, scope: string, next: Next) => Promise<void>;

/**
 * `Idempotency-Key` on POST, per the contract: the first request with a key runs and its response
 * is recorded for the key (in `store`, scoped to who asks); a retry with the same body gets that
 * response again (header `Idempotent-Replayed: true`); another body gets 422. A second request
 * arriving while the first runs waits for its response (up to `waitMs`, then 409 with Retry-After).
 * Nothing of it goes into the event log: the log keeps only what the command itself appends.
 *
 * Recorded: every response below 500 except transient ones (408, 425, 429, or any with
 * Retry-After) — they are the command's verdict on this body. Not recorded: 5xx and thrown
 * non-problem errors; the attempt is abandoned so a retry runs the command again, because a
 * server fault says nothing about the request and a client must be able to get past it.
 *
 * Only called for what may be recorded: an authenticated command route, or a Slack interaction
 * whose signature was verified (see `idempotentCommands` and the Slack route). A request without
 * the header runs as it is.
 */
export const idempotency = (store: IdempotencyStore, options: IdempotencyOptions = {}): RunOnce => {
  const waitMs = options.waitMs ?? 10_000;
  const newAttemptId = options.newAttemptId ?? randomUUID;
  const rawBodyOf = options.rawBodyOf ?? defaultRawBodyOf;
  const ledger: Ledger = {
    store,
    leaseMs: options.leaseMs ?? 30_000,
    clock: options.clock ?? (() => new Date()),
    waiting: new Map(),
  };

  return async (ctx, scope, next) => {
    if (ctx.method !== 'POST' || ctx.request.headers['idempotency-key'] === undefined) {
      await next();
      return;
    }
    const key = validKeyOf(ctx);
    const attempt: Attempt = {
      key,
      record: idempotencyRecordFor(scope, key),
      requestHash: requestHashOf(ctx.method, ctx.originalUrl, rawBodyOf(ctx)),
      attemptId: newAttemptId(),
      waitDeadline: Date.now() + waitMs,
    };
    if ((await takeLease(ledger, ctx, attempt)) === 'replayed') return;
    await runAndRecord(ledger, ctx, attempt, next);
  };
};

/** The keys' records and the requests waiting on them, shared by every request of one middleware. */
interface Ledger {
  readonly store: IdempotencyStore;
  readonly leaseMs: number;
  /** The time of leases and expiry. */
  readonly clock: () => Date;
  /** Requests waiting for a key's attempt to end, woken when it is recorded or abandoned. */
  readonly waiting: Map<string, Set<() => void>>;
}

/** One request's try at running under its key. */
interface Attempt {
  readonly key: string;
  /** The key's record: the key within the scope of who asks. */
  readonly record: string;
  readonly requestHash: string;
  readonly attemptId: string;
  /** Until when (epoch ms) it waits for another attempt with the key to end. */
  readonly waitDeadline: number;
}

/** Reads the key, decides, keeps the new state: synchronous, so nothing interleaves. */
const decide = (ledger: Ledger, record: string, command: IdempotencyCommand) => {
  const state = ledger.store.read(record);
  const outcome = idempotencyDecider.decide(command, state);
  if (E.isRight(outcome)) ledger.store.write(record, outcome.right.reduce(idempotencyDecider.evolve, state));
  return outcome;
};

const settle = (ledger: Ledger, record: string, command: IdempotencyCommand): void => {
  try {
    decide(ledger, record, command);
  } catch {
    // The response is real (its events are appended); failing it now would invite a retry that
    // runs the command twice. The key's lease runs out and a retry takes it over.
  }
  for (const wake of ledger.waiting.get(record) ?? []) wake();
  ledger.waiting.delete(record);
};

/** Resolves when the key's current attempt has ended, or at `until` (epoch ms). */
const waitUntilSettled = (ledger: Ledger, record: string, until: number): Promise<void> =>
  new Promise((resolve) => {
    const wakers = ledger.waiting.get(record) ?? new Set<() => void>();
    ledger.waiting.set(record, wakers);
    const wake = () => {
      clearTimeout(timer);
      wakers.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, Math.max(0, until - Date.now()));
    wakers.add(wake);
  });

/** The request's `Idempotency-Key`; 400 when it is not a valid one. */
const validKeyOf = (ctx: Context): string => {
  const key = ctx.get(IDEMPOTENCY_KEY_HEADER);
  const keyProblem = idempotencyKeyProblem(key);
  if (keyProblem) {
    throw new ProblemError(400, `the ${IDEMPOTENCY_KEY_HEADER} header is not valid`, {
      errors: [{ path: `header.${IDEMPOTENCY_KEY_HEADER}`, message: keyProblem }],
    });
  }
  return key;
};

/** Asks for the key's lease once; 503 when the records cannot be read or written. */
const startAttempt = (ledger: Ledger, ctx: Context, attempt: Attempt) => {
  try {
    return decide(ledger, attempt.record, {
      type: 'StartIdempotentRequest',
      attemptId: attempt.attemptId,
      requestHash: attempt.requestHash,
      method: ctx.method,
      path: ctx.originalUrl,
      now: ledger.clock(),
      leaseMs: ledger.leaseMs,
    });
  } catch (error) {
    throw new ProblemError(503, 'the Idempotency-Key records cannot be read or written; retry later', {
      headers: { 'Retry-After': '5' },
      cause: error,
    });
  }
};

/**
 * Takes the key's lease for the attempt, waiting while another attempt holds it: 'started' when
 * the handler is to run, 'replayed' when the key's recorded response was answered instead.
 */
const takeLease = async (ledger: Ledger, ctx: Context, attempt: Attempt): Promise<'started' | 'replayed'> => {
  for (;;) {
    const started = startAttempt(ledger, ctx, attempt);
    if (E.isRight(started)) return 'started';
    const refusal = started.left;
    switch (refusal.kind) {
      case 'replay':
        replay(ctx, refusal.response);
        return 'replayed';
      case 'mismatch':
        throw new ProblemError(
          422,
          `${IDEMPOTENCY_KEY_HEADER} ${JSON.stringify(attempt.key)} was already used with a different request`,
          {
            errors: [
              {
                path: `header.${IDEMPOTENCY_KEY_HEADER}`,
                message: 'already used with a different method, path or body',
              },
            ],
          },
        );
      case 'in_progress': {
        if (Date.now() >= attempt.waitDeadline) {
          throw new ProblemError(
            409,
            `a request with ${IDEMPOTENCY_KEY_HEADER} ${JSON.stringify(attempt.key)} is still in progress`,
            {
              headers: { 'Retry-After': '1' },
              type: 'https://gateway.dev/problems/request-in-progress',
            },
          );
        }
        const leaseEndsIn = refusal.leaseEndsAt - ledger.clock().getTime();
        await waitUntilSettled(ledger, attempt.record, Math.min(attempt.waitDeadline, Date.now() + leaseEndsIn));
        break;
      }
      case 'lease_lost':
        throw new Error('starting an idempotent request cannot lose a lease');
      default:
        return assertNever(refusal);
    }
  }
};

/** Runs the handler under the lease, then records its response for the key or abandons the attempt. */
const runAndRecord = async (ledger: Ledger, ctx: Context, attempt: Attempt, next: Next): Promise<void> => {
  try {
    await next();
  } catch (error) {
    const recorded = error instanceof ProblemError ? problemResponse(error) : null;
    settle(ledger, attempt.record, endOf(attempt, recorded, `the handler failed: ${errorName(error)}`));
    throw error;
  }
  settle(ledger, attempt.record, endOf(attempt, responseOf(ctx), `status ${ctx.status} is not repeated`));
};

/** How the attempt ends: its response recorded, or, when the response is not repeated, abandoned for the reason given. */
const endOf = (attempt: Attempt, recorded: RecordedResponse | null, reasonNotRecorded: string): IdempotencyCommand =>
  recorded
    ? { type: 'RecordIdempotentResponse', attemptId: attempt.attemptId, response: recorded }
    : { type: 'AbandonIdempotentRequest', attemptId: attempt.attemptId, reason: reasonNotRecorded };

/**
 * Idempotency for the bearer-token command operations only (`isCommand`: the OpenAPI document's
 * operations that take the header), scoped per token. Anything else passes untouched: an
 * unauthenticated or unrouted request, or a pure one, never leaves a record.
 */
export const idempotentCommands =
  (runOnce: RunOnce, isCommand: (method: string, path: string) => boolean): Middleware =>
  (ctx, next) => {
    const principal = stateOf(ctx).principal;
    if (!principal || !isCommand(ctx.method, ctx.path)) return next();
    return runOnce(ctx, `token:${principal.name}`, next);
  };

const defaultRawBodyOf = (ctx: Context): string | Buffer => {
  const request = ctx.request as { rawBody?: unknown; body?: unknown };
  if (typeof request.rawBody === 'string' || Buffer.isBuffer(request.rawBody)) return request.rawBody;
  if (request.body !== undefined) return canonicalize(request.body) ?? '';
  return '';
};

const isRepeatable = (status: number, headers: Record<string, string | string[] | number | undefined>): boolean => {
  if (status >= 500 || status === 408 || status === 425 || status === 429) return false;
  return !Object.keys(headers).some((name) => name.toLowerCase() === 'retry-after');
};

const replayedHeadersOf = (headers: Record<string, unknown>): Record<string, string> => {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if ((REPLAYED_HEADERS as readonly string[]).includes(name.toLowerCase()) && typeof value === 'string')
      kept[name.toLowerCase()] = value;
  }
  return kept;
};

const problemResponse = (error: ProblemError): RecordedResponse | null => {
  if (!isRepeatable(error.status, error.headers)) return null;
  const { type, title, status, detail, errors } = error.toDocument();
  return {
    format: 'problem',
    status,
    headers: replayedHeadersOf(error.headers),
    body: { type, title, status, detail, ...(errors ? { errors: [...errors] } : {}) },
  };
};

const responseOf = (ctx: Context): RecordedResponse | null => {
  const headers = ctx.response.headers as Record<string, string | string[] | number | undefined>;
  if (!isRepeatable(ctx.status, headers)) return null;
  const kept = replayedHeadersOf(headers);
  const body: unknown = ctx.body;
  if (body === undefined || body === null) return { format: 'empty', status: ctx.status, headers: kept };
  if (typeof body === 'string') return { format: 'text', status: ctx.status, headers: kept, body };
  if (isPlainJson(body))
    return { format: 'json', status: ctx.status, headers: kept, body: JSON.parse(JSON.stringify(body)) as JsonValue };
  // Buffers and streams cannot be kept as JSON; such a response is not repeated.
  return null;
};

const isPlainJson = (body: unknown): boolean => {
  if (Array.isArray(body)) return true;
  if (typeof body !== 'object' || body === null || Buffer.isBuffer(body) || body instanceof Stream) return false;
  const prototype = Object.getPrototypeOf(body) as unknown;
  return prototype === Object.prototype || prototype === null;
};

const replay = (ctx: Context, response: RecordedResponse): void => {
  const headers = { ...response.headers, [IDEMPOTENT_REPLAYED_HEADER]: 'true' };
  switch (response.format) {
    case 'problem': {
      const { status, detail, type, title, errors } = response.body;
      throw new ProblemError(status, detail, { type, title, headers, ...(errors ? { errors } : {}) });
    }
    case 'json':
    case 'text':
      ctx.body = response.body;
      break;
    case 'empty':
      // Undefined, not null: the error middleware still sees "no body" (a router 404 becomes a problem again).
      ctx.body = undefined;
      break;
    default:
      assertNever(response);
  }
  // Status after body: Koa turns an empty body into 204 unless the status is set afterwards.
  ctx.status = response.status;
  ctx.set(headers);
};

const errorName = (error: unknown): string => (error instanceof Error ? error.name : typeof error);
