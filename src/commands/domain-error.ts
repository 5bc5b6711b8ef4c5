import { ProblemError, PROBLEM_TYPE_BASE, type FieldError } from '../api/problem.js';

/**
 * Why a decider refused a command. A tagged union the HTTP edge maps to a problem document
 * (see `domainErrorToProblem`); deciders never throw for a business reason.
 */
export type DomainError = NotFound | Conflict | Invalid | Unprocessable;

/** The aggregate does not exist (404). */
export interface NotFound {
  readonly kind: 'not_found';
  readonly detail: string;
}

/** The command is not allowed in the aggregate's current state (409); `state` names it. */
export interface Conflict {
  readonly kind: 'conflict';
  readonly state: string;
  readonly detail: string;
}

/** The command's content is wrong (400), every failing field listed. */
export interface Invalid {
  readonly kind: 'invalid';
  readonly detail: string;
  readonly errors: readonly FieldError[];
}

/** Well-formed but cannot be processed as asked (422), e.g. an Idempotency-Key reused with another body. */
export interface Unprocessable {
  readonly kind: 'unprocessable';
  readonly detail: string;
}

/** The client's `If-Match` revision is not the stream's current revision (412). */
export interface PreconditionFailed {
  readonly kind: 'precondition_failed';
  readonly stream: string;
  readonly expectedRevision: number;
  /** -1 when the stream does not exist. */
  readonly actualRevision: number;
}

/** Other writers kept changing the stream while the command was decided, beyond the retry budget (409). */
export interface Contended {
  readonly kind: 'contended';
  readonly stream: string;
  readonly attempts: number;
}

/** Everything `handleCommand` can answer instead of success. */
export type CommandError = DomainError | PreconditionFailed | Contended;

export const notFound = (detail: string): NotFound => ({ kind: 'not_found', detail });
export const conflict = (state: string, detail: string): Conflict => ({ kind: 'conflict', state, detail });
export const invalid = (errors: readonly FieldError[], detail = 'the request is not valid'): Invalid => ({
  kind: 'invalid',
  detail,
  errors,
});
export const unprocessable = (detail: string): Unprocessable => ({ kind: 'unprocessable', detail });

/** The one mapping from command outcomes to RFC 9457 problems, so every route answers alike. */
export const domainErrorToProblem = (error: CommandError): ProblemError => {
  switch (error.kind) {
    case 'not_found':
      return new ProblemError(404, error.detail);
    case 'conflict':
      return new ProblemError(409, `${error.detail} (current state: ${error.state})`, {
        type: `${PROBLEM_TYPE_BASE}invalid-state`,
      });
    case 'invalid':
      return new ProblemError(400, error.detail, {
        errors: error.errors,
        type: `${PROBLEM_TYPE_BASE}validation-failed`,
      });
    case 'unprocessable':
      return new ProblemError(422, error.detail);
    case 'precondition_failed':
      return new ProblemError(
        412,
        `If-Match names revision ${error.expectedRevision} but ${error.stream} is at ${
          error.actualRevision < 0 ? 'no revision (it does not exist)' : `revision ${error.actualRevision}`
        }`,
        { headers: error.actualRevision < 0 ? {} : { ETag: `"${error.actualRevision}"` } },
      );
    case 'contended':
      return new ProblemError(
        409,
        `${error.stream} kept changing during ${error.attempts} attempts; retry the request`,
        {
          type: `${PROBLEM_TYPE_BASE}concurrent-modification`,
          headers: { 'Retry-After': '1' },
        },
      );
    default:
      return assertNever(error);
  }
};

export const assertNever = (value: never): never => {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
};
