import type { Middleware } from 'koa';
import { EventStoreClosedError, EventStoreUnavailableError } from '../../eventstore/port.js';
import { waitErrorToProblem } from '../wait-problem.js';
import { ProblemError } from '../problem.js';
import { stateOf } from '../state.js';

/**
 * The one place errors become responses: RFC 9457 problem documents for every error status,
 * including the router's 404/405 and the body parser's 400/413. Nothing else writes an error
 * body, and no stack trace ever leaves the process (it goes to the log for 5xx only).
 */
export const problemDocuments = (): Middleware => async (ctx, next) => {
  let problem: ProblemError | undefined;
  try {
    await next();
    if (ctx.body === undefined || ctx.body === null) problem = unanswered(ctx.status, ctx.method, ctx.path);
  } catch (error) {
    problem = toProblem(error);
    if (problem.status >= 500) stateOf(ctx).logger?.error({ err: error }, 'request failed');
  }
  if (!problem) return;
  ctx.status = problem.status;
  for (const [name, value] of Object.entries(problem.headers)) ctx.set(name, value);
  ctx.body = problem.toDocument(ctx.path);
  ctx.type = 'application/problem+json';
};

/** Statuses the router answers without a body. */
const unanswered = (status: number, method: string, path: string): ProblemError | undefined => {
  switch (status) {
    case 404:
      return new ProblemError(404, `no resource at ${method} ${path}`);
    case 405:
      return new ProblemError(405, `${path} does not support ${method}; see the Allow header`);
    case 501:
      return new ProblemError(501, `the gateway does not implement ${method}`);
    default:
      return undefined;
  }
};

const toProblem = (error: unknown): ProblemError => {
  if (error instanceof ProblemError) return error;
  const waited = waitErrorToProblem(error);
  if (waited) return waited;
  if (error instanceof EventStoreUnavailableError || error instanceof EventStoreClosedError) {
    return new ProblemError(503, 'the event store is unavailable', { headers: { 'Retry-After': '5' } });
  }
  const status = (error as { status?: unknown; expose?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const headers = (error as { headers?: Record<string, string> }).headers ?? {};
    return new ProblemError(status, clientMessage(status, error as Error), { headers });
  }
  return new ProblemError(500, 'the gateway failed to handle this request; it has been logged');
};

/** koa-body and the router throw http-errors; their messages are safe but terse. */
const clientMessage = (status: number, error: Error): string => {
  const type = (error as { type?: unknown }).type;
  if (status === 413) return 'the request body is larger than the configured limit';
  if (
    status === 400 &&
    (type === 'entity.parse.failed' || error instanceof SyntaxError || /JSON/i.test(error.message))
  ) {
    return 'the request body is not valid JSON';
  }
  return error.message;
};
