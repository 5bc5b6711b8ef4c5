import type { FieldError } from '../commands/domain-error.js';

export type { FieldError };

/** An RFC 9457 problem document as the contract defines it. */
export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors?: readonly FieldError[];
  readonly instance?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const PROBLEM_TYPE_BASE = 'https://gateway.dev/problems/';

/**
 * Thrown anywhere in request handling; the one error middleware turns it into a
 * problem+json response. Anything else thrown becomes a 500 without details.
 */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  readonly title: string;
  readonly type: string;

  constructor(
    readonly status: number,
    readonly detail: string,
    options: {
      errors?: readonly FieldError[];
      type?: string;
      title?: string;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.title = options.title ?? TITLES[status] ?? 'Error';
    this.type = options.type ?? `${PROBLEM_TYPE_BASE}${slugOf(this.title)}`;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }

  readonly errors: readonly FieldError[] | undefined;
  readonly headers: Record<string, string>;

  toDocument(instance?: string): ProblemDocument {
    return {
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(this.errors && this.errors.length > 0 ? { errors: this.errors } : {}),
      ...(instance ? { instance } : {}),
    };
  }
}

const slugOf = (title: string): string => title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
