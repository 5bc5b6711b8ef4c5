import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { OpenAPIRouter } from 'openapi-backend';
import { buildOpenApiDocument } from '../../src/openapi/document.js';

/**
 * Checks what the gateway answers against the OpenAPI document it serves: the operation is
 * matched by openapi-backend's router, schemas are validated by Ajv (JSON Schema 2020-12, the
 * dialect of OpenAPI 3.1). Only the lookup from a response to its schema is written here.
 */
/** Kept on globalThis: ava loads the hook as its `require` and a test may import it again. */
const exempt: Set<string> = ((globalThis as Record<symbol, Set<string>>)[Symbol.for('contract-hook.exempt')] ??=
  new Set<string>());

/**
 * A server that is not the gateway, though built from its parts (the HTTP edge with routes a
 * test made up): its answers are not the contract's. `why` is for the reader of the test.
 */
export const exemptFromContract = (url: string, why: string): void => {
  if (why.trim() === '') throw new Error('say why a server is exempt from the contract');
  exempt.add(new URL(url).origin);
};

/** Whether `url`'s server was exempted by its test. */
export const isExemptFromContract = (url: string): boolean => exempt.has(new URL(url).origin);

const document = buildOpenApiDocument();
const router = new OpenAPIRouter({ definition: document as never, ignoreTrailingSlashes: true });

// ajv-formats is CommonJS with a default export; tsx hands it over either way.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => void;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(document, 'openapi');

const validators = new Map<string, ValidateFunction>();
const validatorAt = (pointer: string): ValidateFunction => {
  let validate = validators.get(pointer);
  if (!validate) {
    validate = ajv.compile({ $ref: `openapi#${pointer}` });
    validators.set(pointer, validate);
  }
  return validate;
};

const escape = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');
const pointerTo = (...segments: string[]): string => segments.map((segment) => `/${escape(segment)}`).join('');

/** Ajv's errors as lines a failed test can show. */
const describeErrors = (validate: ValidateFunction): string[] =>
  (validate.errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? ''}`.trim());

/** What a schema at `pointer` says of `value`: nothing when it holds. */
export const schemaViolations = (pointer: string, value: unknown): string[] => {
  const validate = validatorAt(pointer);
  return validate(value) ? [] : describeErrors(validate);
};

interface DocumentedResponse {
  readonly headers?: Record<string, { required?: boolean }>;
  readonly content?: Record<string, unknown>;
}

/** The response a status selects: the exact code, then `4XX`-style ranges, then `default`. */
const responseKeyFor = (responses: Record<string, DocumentedResponse>, status: number): string | undefined =>
  [String(status), `${String(status)[0]}XX`, 'default'].find((key) => responses[key] !== undefined);

export interface ObservedResponse {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly headers: Headers;
  /** The body's text; undefined for a stream (SSE) whose body is checked event by event. */
  readonly body: string | undefined;
}

/** A request no operation matches may only be refused as the HTTP edge refuses it (bounds, auth, no route). */
const UNMATCHED_STATUSES = new Set([400, 401, 404, 405, 413, 414, 415, 429, 431]);

/**
 * Every way `response` departs from the document: an operation or status it does not name, a
 * content type it does not list, a required header missing or malformed, a body its schema
 * refuses. Empty when the response is as documented.
 */
export const responseViolations = (response: ObservedResponse): string[] => {
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const operation = router.matchOperation({ method: response.method, path: response.path, headers: {} }) as
    { readonly method: string; readonly path: string; readonly responses?: unknown } | undefined;
  if (!operation) {
    if (!UNMATCHED_STATUSES.has(response.status)) return [`no operation documents ${response.method} ${response.path}`];
    return bodyViolations(
      pointerTo('components', 'schemas', 'Problem'),
      contentType,
      'application/problem+json',
      response,
    );
  }
  const responses = (operation.responses ?? {}) as Record<string, DocumentedResponse>;
  const key = responseKeyFor(responses, response.status);
  if (key === undefined)
    return [`status ${response.status} is not documented for ${operation.method.toUpperCase()} ${operation.path}`];
  const documented = responses[key]!;
  const base = ['paths', operation.path, operation.method, 'responses', key];
  const violations = headerViolations(documented, base, response.headers);
  if (!documented.content) {
    if (response.body !== undefined && response.body !== '') violations.push('a body where the document says none');
    return violations;
  }
  if (documented.content[contentType] === undefined)
    return [...violations, `content type "${contentType}" is not one of ${Object.keys(documented.content).join(', ')}`];
  return [
    ...violations,
    ...bodyViolations(pointerTo(...base, 'content', contentType, 'schema'), contentType, contentType, response),
  ];
};

const headerViolations = (documented: DocumentedResponse, base: string[], headers: Headers): string[] =>
  Object.entries(documented.headers ?? {}).flatMap(([name, header]) => {
    const value = headers.get(name);
    if (value === null) return header.required ? [`header ${name} is required`] : [];
    return schemaViolations(pointerTo(...base, 'headers', name, 'schema'), value).map(
      (line) => `header ${name}: ${line}`,
    );
  });

const bodyViolations = (
  pointer: string,
  contentType: string,
  expected: string,
  response: ObservedResponse,
): string[] => {
  if (contentType !== expected) return [`content type "${contentType}", documented "${expected}"`];
  if (response.body === undefined || !/json$/.test(contentType)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    return [`a ${contentType} body that is not JSON`];
  }
  return schemaViolations(pointer, parsed).map((line) => `body ${line}`);
};

/** A response that is not what the served document says; thrown into the test that received it. */
export class ContractViolationError extends Error {
  constructor(response: ObservedResponse, violations: readonly string[]) {
    super(
      `${response.method} ${response.path} → ${response.status} does not match the served OpenAPI document:\n  - ${violations.join('\n  - ')}\n  body: ${(response.body ?? '(stream)').slice(0, 2000)}`,
    );
    this.name = 'ContractViolationError';
  }
}

interface DocumentedParameter {
  readonly name: string;
  readonly in: string;
  readonly required?: boolean;
}

/**
 * Every way a webhook the gateway sent departs from the document's `webhooks` entry for its
 * `event_type`: an undocumented type, a required header missing or malformed, a body its
 * schema refuses. What the Slack team reads in the document is what arrives.
 */
export const webhookViolations = (headers: Record<string, string | string[] | undefined>, raw: string): string[] => {
  let body: { event_type?: unknown };
  try {
    body = JSON.parse(raw) as { event_type?: unknown };
  } catch {
    return ['a webhook body that is not JSON'];
  }
  const type = String(body.event_type);
  const webhooks = (document as { webhooks: Record<string, { post: { parameters: DocumentedParameter[] } }> }).webhooks;
  const documented = webhooks[type]?.post;
  if (!documented) return [`event_type "${type}" is not among the document's webhooks`];
  const base = ['webhooks', type, 'post'];
  const headerLines = documented.parameters.flatMap((parameter, index) => {
    const value = headers[parameter.name.toLowerCase()];
    if (value === undefined) return parameter.required ? [`header ${parameter.name} is required`] : [];
    return schemaViolations(pointerTo(...base, 'parameters', String(index), 'schema'), value).map(
      (line) => `header ${parameter.name}: ${line}`,
    );
  });
  const bodyLines = schemaViolations(pointerTo(...base, 'requestBody', 'content', 'application/json', 'schema'), body);
  return [...headerLines, ...bodyLines.map((line) => `body ${line}`)];
};

/**
 * What an SSE frame's `data:` departs from: the schema the stream's operation names for its
 * `event:` type (`x-sse-events`), or an event type the operation does not name at all.
 */
export const sseFrameViolations = (path: string, event: string, data: string): string[] => {
  const operation = router.matchOperation({ method: 'GET', path, headers: {} }) as
    { readonly method: string; readonly path: string } | undefined;
  if (!operation) return [`no operation documents GET ${path}`];
  const media = pointerTo(
    'paths',
    operation.path,
    operation.method,
    'responses',
    '200',
    'content',
    'text/event-stream',
  );
  const documented = (
    (document.paths as Record<string, Record<string, { responses: Record<string, { content: object }> }>>)[
      operation.path
    ]?.[operation.method]?.responses['200']?.content as Record<string, { 'x-sse-events'?: Record<string, unknown> }>
  )['text/event-stream']?.['x-sse-events'];
  if (documented?.[event] === undefined) return [`event type "${event}" is not documented for GET ${operation.path}`];
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return [`event ${event}: data that is not JSON`];
  }
  return schemaViolations(`${media}/x-sse-events/${event}`, parsed).map((line) => `event ${event}: ${line}`);
};
