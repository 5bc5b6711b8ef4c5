import type { Middleware } from 'koa';
import { ProblemError } from '../problem.js';

export interface RequestBounds {
  readonly maxPathLength: number;
  readonly maxQueryLength: number;
  readonly maxQueryParams: number;
  readonly maxHeaders: number;
}

/**
 * The request line and headers measured before anything parses them. Koa parses a query with
 * `keys()` × `getAll()`, quadratic in repeated keys: 7,900 × `a` in a URL under 16 KB held the
 * event loop for most of a second, without a token. Everything here is one linear pass over the
 * raw request, so a refusal costs what reading the request cost.
 */
export const boundedRequests =
  (bounds: RequestBounds): Middleware =>
  (ctx, next) => {
    const url = ctx.req.url ?? '';
    const mark = url.indexOf('?');
    const pathLength = mark < 0 ? url.length : mark;
    if (pathLength > bounds.maxPathLength) {
      throw new ProblemError(414, `the path is ${pathLength} bytes; the limit is ${bounds.maxPathLength}`, {
        errors: [{ path: 'path', message: `at most ${bounds.maxPathLength} bytes` }],
      });
    }
    if (mark >= 0) {
      const queryLength = url.length - mark - 1;
      if (queryLength > bounds.maxQueryLength) {
        throw new ProblemError(414, `the query is ${queryLength} bytes; the limit is ${bounds.maxQueryLength}`, {
          errors: [{ path: 'query', message: `at most ${bounds.maxQueryLength} bytes` }],
        });
      }
      let params = 1;
      for (let i = mark + 1; i < url.length; i++) if (url.charCodeAt(i) === 38 /* & */) params++;
      if (params > bounds.maxQueryParams) {
        throw new ProblemError(400, `the query has ${params} parameters; the limit is ${bounds.maxQueryParams}`, {
          errors: [{ path: 'query', message: `at most ${bounds.maxQueryParams} parameters` }],
        });
      }
    }
    const headers = ctx.req.rawHeaders.length / 2;
    if (headers > bounds.maxHeaders) {
      throw new ProblemError(431, `the request has ${headers} header fields; the limit is ${bounds.maxHeaders}`, {
        errors: [{ path: 'headers', message: `at most ${bounds.maxHeaders} header fields` }],
      });
    }
    return next();
  };

/**
 * How deeply `value` nests (a scalar is 0), counted without recursion and stopping once past
 * `limit`, so a body of a million `[` costs one pass and no stack.
 */
export const nestingDepthExceeds = (value: unknown, limit: number): boolean => {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
};
