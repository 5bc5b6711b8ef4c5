import Router from '@koa/router';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Context } from 'koa';
import { ProblemError, type FieldError } from '../api/problem.js';
import { encodeCursor, pageOf } from '../api/validation.js';
import type { EventStore, RecordedEvent } from '../eventstore/port.js';
import { reportValidationErrors } from '../events/validation-report.js';
import { toAuditEvent, type AuditEvent } from './audit-event.js';
import { storeSource } from './source.js';
import { verifyLog } from './verify.js';

export interface AuditRoutesOptions {
  /** The gateway's event store: audit reads records as stored, hashes and all, not the decoded events. */
  readonly store: EventStore;
}

/** A `$all` position or a revision in the query: decimal digits only, as the project's cursors hold them. */
const NonNegativeInteger = new t.Type<number, string, unknown>(
  'non-negative integer',
  (value): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0,
  (value, context) =>
    typeof value === 'string' && /^\d{1,15}$/.test(value)
      ? t.success(Number(value))
      : t.failure(value, context, 'expected an integer ≥ 0'),
  String,
);

/**
 * `?<start>=&limit=&cursor=`, every bad parameter named in one 400. A cursor (the `next_cursor`
 * of the previous page: the next position or revision, encoded as the project's cursors are)
 * wins over the start parameter, so a client can keep its query and add the cursor.
 */
const pagingOf = (ctx: Context, start: 'from_position' | 'from_revision'): { from: number; limit: number } => {
  const errors: FieldError[] = [];
  const decoded = t.partial({ [start]: NonNegativeInteger }).decode({ [start]: ctx.query[start] });
  if (E.isLeft(decoded))
    errors.push(
      ...reportValidationErrors(decoded.left).map(({ path, message }) => ({ path: `query.${path}`, message })),
    );
  let page = { limit: 0, offset: 0 };
  try {
    page = pageOf(ctx);
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    errors.push(...(error.errors ?? []));
  }
  if (errors.length > 0)
    throw new ProblemError(400, `the query is not valid: ${errors.length} problem${errors.length === 1 ? '' : 's'}`, {
      errors,
    });
  const from = ctx.query['cursor'] !== undefined ? page.offset : E.isRight(decoded) ? (decoded.right[start] ?? 0) : 0;
  return { from, limit: page.limit };
};

/** Reads one event more than the page holds: the extra one's place is the next cursor, and its absence the end. */
const pageBody = (
  events: readonly RecordedEvent[],
  limit: number,
  placeOf: (event: RecordedEvent) => number,
): { items: AuditEvent[]; next_cursor: string | null } => {
  const next = events[limit];
  return { items: events.slice(0, limit).map(toAuditEvent), next_cursor: next ? encodeCursor(placeOf(next)) : null };
};

/**
 * The contract's audit endpoints. The auth middleware lets only auditors and operators reach
 * `/api/audit/*`. Verification reads the log in pages, so it is safe on a log of any size, but it
 * does read all of it: each call costs one pass over the log.
 */
export const auditRoutes = (options: AuditRoutesOptions): Router => {
  const router = new Router();
  const { store } = options;

  router.get('/api/audit/events', async (ctx) => {
    const { from, limit } = pagingOf(ctx, 'from_position');
    ctx.body = pageBody(
      await store.readAll({ fromPosition: from, maxCount: limit + 1 }),
      limit,
      (event) => event.position,
    );
  });

  router.get('/api/audit/streams/:stream', async (ctx) => {
    const stream = ctx.params['stream']!;
    const { from, limit } = pagingOf(ctx, 'from_revision');
    const events = await store.readStream(stream, { fromRevision: from, maxCount: limit + 1 });
    // Past the end of a stream is an empty page; only a stream with no event at all is unknown.
    if (events.length === 0 && (await store.readStream(stream, { maxCount: 1 })).length === 0)
      throw new ProblemError(404, `no stream ${stream} in the log`);
    ctx.body = pageBody(events, limit, (event) => event.revision);
  });

  router.get('/api/audit/verify', async (ctx) => {
    ctx.body = await verifyLog(storeSource(store));
  });

  return router;
};
