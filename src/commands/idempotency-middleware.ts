import { randomUUID } from 'node:crypto';
import { Stream } from 'node:stream';
import canonicalizeModule from 'canonicalize';
import * as E from 'fp-ts/lib/Either.js';
import type { Context, Middleware, Next } from 'koa';
import { ProblemError } from '../api/problem.js';
import type { JsonValue } from '../eventstore/port.js';
import type { EventLog } from '../events/event-log.js';
import type { CommandContext } from '../events/metadata.js';
import { untilAborted } from '../events/until-aborted.js';
import { assertNever, domainErrorToProblem } from './domain-error.js';
import { handleCommand } from './handle-command.js';
import {
  idempotencyDecider,
  idempotencyKeyProblem,
  idempotencyStreamFor,
  requestHashOf,
  type IdempotencyCommand,
} from './idempotency.js';
import type { IdempotencyEvent, RecordedResponse } from './idempotency-events.js';

const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/** Response headers a replay must repeat; the rest (dates, request ids) belong to each response. */
const REPLAYED_HEADERS = ['content-type', 'etag', 'location', 'content-location'] as const;

export interface IdempotencyLogger {
  warn(details: object, message: string): void;
}

export interface IdempotencyOptions {
  /** Who asks (keys are scoped per actor) and the request's correlation; the auth middleware runs first. */
  readonly contextOf: (ctx: Context) => CommandContext;
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
  /** The time written into the key's events and used for leases. Default the system clock. */
  readonly clock?: () => Date;
  readonly logger?: IdempotencyLogger;
}

/**
 * `Idempotency-Key` on POST, per the contract: the first request with a key runs and its response
 * is recorded in the key's stream; a retry with the same body gets that response again (header
 * `Idempotent-Replayed: true`) and appends nothing; another body gets 422. A second request
 * arriving while the first runs waits for its response (up to `waitMs`, then 409 with Retry-After).
 *
 * Recorded: every response below 500 except transient ones (408, 425, 429, or any with
 * Retry-After) — they are the command's verdict on this body. Not recorded: 5xx and thrown
 * non-problem errors; the attempt is abandoned so a retry runs the command again, because a
 * server fault says nothing about the request and a client must be able to get past it.
 */
export const idempotency = (eventLog: EventLog, options: IdempotencyOptions): Middleware => {
  const leaseMs = options.leaseMs ?? 30_000;
  const waitMs = options.waitMs ?? 10_000;
  const newAttemptId = options.newAttemptId ?? randomUUID;
  const rawBodyOf = options.rawBodyOf ?? defaultRawBodyOf;
  const clock = options.clock ?? (() => new Date());

  const run = (stream: string, command: IdempotencyCommand, context: CommandContext) =>
    handleCommand(eventLog, stream, idempotencyDecider, command, { ...context, now: clock() }, { maxRetries: 5 });

  /** Resolves when the key's current attempt has ended (recorded or abandoned), or at `until` (epoch ms). */
  const waitUntilSettled = async (stream: string, until: number): Promise<void> => {
    const subscription = eventLog.subscribeToStream<IdempotencyEvent>(stream);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), Math.max(0, until - Date.now()));
    try {
      let state = idempotencyDecider.initialState();
      for await (const stored of untilAborted(subscription, deadline.signal)) {
        state = idempotencyDecider.evolve(state, stored.event);
        if (state.status !== 'in_progress') return;
      }
    } finally {
      clearTimeout(timer);
      await subscription.stop();
    }
  };

  const finish = async (stream: string, command: IdempotencyCommand, context: CommandContext): Promise<void> => {
    try {
      const outcome = await run(stream, command, context);
      if (E.isLeft(outcome)) {
        options.logger?.warn({ stream, outcome: outcome.left.kind }, 'idempotency record not written: the key was taken over');
      }
    } catch (error) {
      // The response is real (its events are appended); failing it now would invite a retry that
      // runs the command twice. The key's lease runs out and the log shows the attempt as started.
      options.logger?.warn({ stream, err: error }, 'idempotency record could not be written');
    }
  };

  return async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.method !== 'POST' || ctx.request.headers['idempotency-key'] === undefined) return next();
    const key = ctx.get(IDEMPOTENCY_KEY_HEADER);
    const keyProblem = idempotencyKeyProblem(key);
    if (keyProblem) {
      throw new ProblemError(400, `the ${IDEMPOTENCY_KEY_HEADER} header is not valid`, {
        errors: [{ path: `header.${IDEMPOTENCY_KEY_HEADER}`, message: keyProblem }],
      });
    }

    const context = options.contextOf(ctx);
    const stream = idempotencyStreamFor(context.actor, key);
    const requestHash = requestHashOf(ctx.method, ctx.originalUrl, rawBodyOf(ctx));
    const attemptId = newAttemptId();
    const waitDeadline = Date.now() + waitMs;

    for (;;) {
      const started = await run(
        stream,
        { type: 'start', attemptId, requestHash, method: ctx.method, path: ctx.originalUrl, now: clock(), leaseMs },
        context,
      );
      if (E.isRight(started)) break;
      const refusal = started.left;
      switch (refusal.kind) {
        case 'replay':
          return replay(ctx, refusal.response);
        case 'mismatch':
          throw new ProblemError(422, `${IDEMPOTENCY_KEY_HEADER} ${JSON.stringify(key)} was already used with a different request`, {
            errors: [{ path: `header.${IDEMPOTENCY_KEY_HEADER}`, message: 'already used with a different method, path or body' }],
          });
        case 'in_progress': {
          if (Date.now() >= waitDeadline) {
            throw new ProblemError(409, `a request with ${IDEMPOTENCY_KEY_HEADER} ${JSON.stringify(key)} is still in progress`, {
              headers: { 'Retry-After': '1' },
              type: 'https://gateway.dev/problems/request-in-progress',
            });
          }
          const leaseEndsIn = refusal.leaseEndsAt - clock().getTime();
          await waitUntilSettled(stream, Math.min(waitDeadline, Date.now() + leaseEndsIn));
          break;
        }
        case 'lease_lost':
          throw new Error('starting an idempotent request cannot lose a lease');
        case 'contended':
        case 'precondition_failed':
          throw domainErrorToProblem(refusal);
        default:
          return assertNever(refusal);
      }
    }

    try {
      await next();
    } catch (error) {
      const recorded = error instanceof ProblemError ? problemResponse(error) : null;
      await finish(
        stream,
        recorded ? { type: 'record', attemptId, response: recorded } : { type: 'abandon', attemptId, reason: `the handler failed: ${errorName(error)}` },
        context,
      );
      throw error;
    }
    const recorded = responseOf(ctx);
    await finish(
      stream,
      recorded ? { type: 'record', attemptId, response: recorded } : { type: 'abandon', attemptId, reason: `status ${ctx.status} is not repeated` },
      context,
    );
  };
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
    if ((REPLAYED_HEADERS as readonly string[]).includes(name.toLowerCase()) && typeof value === 'string') kept[name.toLowerCase()] = value;
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
  if (isPlainJson(body)) return { format: 'json', status: ctx.status, headers: kept, body: JSON.parse(JSON.stringify(body)) as JsonValue };
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
