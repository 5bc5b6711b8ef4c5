import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import type { Context } from 'koa';
import { reportValidationErrors } from '../events/validation-report.js';
import { ProblemError } from './problem.js';

/** Decodes a JSON body; 400 naming every failing field otherwise. */
export const decodeBody = <A>(codec: t.Decoder<unknown, A>, ctx: Context): A =>
  decodeOr400(codec, ctx.request.body, 'the request body', '');

/** Decodes the query string; failing parameters are named `query.<name>`. */
export const decodeQuery = <A>(codec: t.Decoder<unknown, A>, ctx: Context): A =>
  decodeOr400(codec, { ...ctx.query }, 'the query', 'query.');

const decodeOr400 = <A>(codec: t.Decoder<unknown, A>, value: unknown, what: string, prefix: string): A => {
  const decoded = codec.decode(value);
  if (E.isRight(decoded)) return decoded.right;
  const errors = reportValidationErrors(decoded.left).map(({ path, message }) => ({
    path: `${prefix}${path}`,
    message,
  }));
  throw new ProblemError(400, `${what} is not valid: ${errors.length} problem${errors.length === 1 ? '' : 's'}`, {
    errors,
  });
};

/** `ETag: "<revision>"` on every resource view. */
export const setETag = (ctx: Context, revision: number): void => {
  ctx.set('ETag', `"${revision}"`);
};

/** The revision an `If-Match: "<n>"` demands; undefined when absent; 400 when malformed. */
export const ifMatchRevision = (ctx: Context): number | undefined => {
  const header = ctx.get('If-Match');
  if (header === '') return undefined;
  const match = /^(?:W\/)?"(\d{1,15})"$/.exec(header.trim());
  if (!match)
    throw new ProblemError(400, 'If-Match must be a revision in quotes, e.g. "3"', {
      errors: [{ path: 'header.If-Match', message: 'expected "<revision>"' }],
    });
  return Number(match[1]);
};

export interface Page {
  readonly limit: number;
  readonly offset: number;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

/** `?limit=` (1..500, default 50) and `?cursor=` (opaque: base64url of an offset). */
export const pageOf = (ctx: Context): Page => {
  const errors: { path: string; message: string }[] = [];
  const rawLimit = ctx.query['limit'];
  let limit = DEFAULT_LIMIT;
  if (rawLimit !== undefined) {
    limit = typeof rawLimit === 'string' && /^\d+$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT))
      errors.push({ path: 'query.limit', message: `expected an integer 1..${MAX_LIMIT}` });
  }
  const rawCursor = ctx.query['cursor'];
  let offset = 0;
  if (rawCursor !== undefined) {
    const decoded = typeof rawCursor === 'string' ? decodeCursor(rawCursor) : undefined;
    if (decoded === undefined)
      errors.push({ path: 'query.cursor', message: 'expected a next_cursor from an earlier page' });
    else offset = decoded;
  }
  if (errors.length > 0) throw new ProblemError(400, 'the paging parameters are not valid', { errors });
  return { limit, offset };
};

export const encodeCursor = (offset: number): string => Buffer.from(`o:${offset}`).toString('base64url');

const decodeCursor = (cursor: string): number | undefined => {
  const match = /^o:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  return match ? Number(match[1]) : undefined;
};

/** One page of an in-memory list, in the contract's `{ items, next_cursor }` shape. */
export const paginate = <T>(items: readonly T[], page: Page): { items: T[]; next_cursor: string | null } => {
  const slice = items.slice(page.offset, page.offset + page.limit);
  const next = page.offset + page.limit;
  return { items: slice, next_cursor: next < items.length ? encodeCursor(next) : null };
};
