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
  const leaseMs = options.leaseMs ?? 30_000;
  const waitMs = options.waitMs ?? 10_000;
  const newAttemptId = options.newAttemptId ?? randomUUID;
  const rawBodyOf = options.rawBodyOf ?? defaultRawBodyOf;
  const clock = options.clock ?? (() => new Date());
  /** Requests waiting for a key's attempt to end, woken when it is recorded or abandoned. */
  const waiting = new Map<string, Set<() => void>>();

  /** Reads the key, decides, keeps the new state: synchronous, so nothing interleaves. */
  const decide = (record: string, command: IdempotencyCommand) => {
    const state = store.read(record);
    const outcome = idempotencyDecider.decide(command, state);
    if (E.isRight(outcome)) store.write(record, outcome.right.reduce(idempotencyDecider.evolve, state));
    return outcome;
  };

  const settle = (record: string, command: IdempotencyCommand): void => {
    try {
      decide(record, command);
    } catch {
      // The response is real (its events are appended); failing it now would invite a retry that
      // runs the command twice. The key's lease runs out and a retry takes it over.
    }
    for (const wake of waiting.get(record) ?? []) wake();
    waiting.delete(record);
  };

  /** Resolves when the key's current attempt has ended, or at `until` (epoch ms). */
  const waitUntilSettled = (record: string, until: number): Promise<void> =>
    new Promise((resolve) => {
      const wakers = waiting.get(record) ?? new Set<() => void>();
      waiting.set(record, wakers);
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, until - Date.now()));
      wakers.add(wake);
    });

  return async (ctx, scope, next) => {
    if (ctx.method !== 'POST' || ctx.request.headers['idempotency-key'] === undefined) {
      await next();
      return;
    }
    const key = ctx.get(IDEMPOTENCY_KEY_HEADER);
    const keyProblem = idempotencyKeyProblem(key);
    if (keyProblem) {
      throw new ProblemError(400, `the ${IDEMPOTENCY_KEY_HEADER} header is not valid`, {
        errors: [{ path: `header.${IDEMPOTENCY_KEY_HEADER}`, message: keyProblem }],
      });
    }

    const record = idempotencyRecordFor(scope, key);
    const requestHash = requestHashOf(ctx.method, ctx.originalUrl, rawBodyOf(ctx));
    const attemptId = newAttemptId();
    const waitDeadline = Date.now() + waitMs;

    for (;;) {
      let started: ReturnType<typeof decide>;
      try {
        started = decide(record, {
          type: 'StartIdempotentRequest',
          attemptId,
          requestHash,
          method: ctx.method,
          path: ctx.originalUrl,
          now: clock(),
          leaseMs,
        });
      } catch (error) {
        throw new ProblemError(503, 'the Idempotency-Key records cannot be read or written; retry later', {
          headers: { 'Retry-After': '5' },
          cause: error,
        });
      }
      if (E.isRight(started)) break;
      const refusal = started.left;
      switch (refusal.kind) {
        case 'replay':
          return replay(ctx, refusal.response);
        case 'mismatch':
          throw new ProblemError(
            422,
            `${IDEMPOTENCY_KEY_HEADER} ${JSON.stringify(key)} was already used with a different request`,
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
          if (Date.now() >= waitDeadline) {
            throw new ProblemError(
              409,
              `a request with ${IDEMPOTENCY_KEY_HEADER} ${JSON.stringify(key)} is still in progress`,
              {
                headers: { 'Retry-After': '1' },
                type: 'https://gateway.dev/problems/request-in-progress',
              },
            );
          }
          const leaseEndsIn = refusal.leaseEndsAt - clock().getTime();
          await waitUntilSettled(record, Math.min(waitDeadline, Date.now() + leaseEndsIn));
          break;
        }
        case 'lease_lost':
          throw new Error('starting an idempotent request cannot lose a lease');
        default:
          return assertNever(refusal);
      }
    }

    try {
      await next();
    } catch (error) {
      const recorded = error instanceof ProblemError ? problemResponse(error) : null;
      settle(
        record,
        recorded
          ? { type: 'RecordIdempotentResponse', attemptId, response: recorded }
          : { type: 'AbandonIdempotentRequest', attemptId, reason: `the handler failed: ${errorName(error)}` },
      );
      throw error;
    }
    const recorded = responseOf(ctx);
    settle(
      record,
      recorded
        ? { type: 'RecordIdempotentResponse', attemptId, response: recorded }
        : { type: 'AbandonIdempotentRequest', attemptId, reason: `status ${ctx.status} is not repeated` },
    );
  };
};

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
