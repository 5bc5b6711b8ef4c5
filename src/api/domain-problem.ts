import { ProblemError, PROBLEM_TYPE_BASE } from './problem.js';
import { assertNever, type CommandError } from '../commands/domain-error.js';

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
