/** One failing field of a request, named by its path (`task.title`, `repos[0].name`, `query.limit`). */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/**
 * Why a decider refused a command. A tagged union the HTTP edge maps to a problem document
 * (`domainErrorToProblem` in src/api/domain-problem.ts); deciders never throw for a business reason.
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

export const assertNever = (value: never): never => {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
};
