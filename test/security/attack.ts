import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { buildOpenApiDocument, operationList } from '../../src/openapi/document.js';
import { signatureOf } from '../../src/shared/signature.js';
import { sendRaw, type RawRequest, type RawResponse } from './raw-http.js';

/**
 * What the security properties generate and how they judge an answer. The operations come from
 * the OpenAPI document (a new endpoint is attacked without anyone listing it here); requests are
 * plain data ("specs") that print readably in a counterexample and are turned into bytes only
 * when sent.
 */

// ---------------------------------------------------------------------------------------------
// The operations, read from the OpenAPI document

export interface Schema {
  readonly $ref?: string;
  readonly type?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly items?: Schema;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minimum?: number;
  readonly maximum?: number;
}

interface DocumentParameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly schema?: Schema;
}

interface DocumentOperation {
  readonly parameters?: readonly DocumentParameter[];
  readonly requestBody?: { readonly content: Readonly<Record<string, { readonly schema: Schema }>> };
  readonly 'x-roles'?: readonly string[];
}

export interface Operation {
  readonly method: string;
  readonly path: string;
  readonly name: string;
  /** Roles that may call it; undefined for public operations (and Slack's, which is signed instead). */
  readonly roles: readonly string[] | undefined;
  readonly pathParams: readonly string[];
  readonly query: readonly { readonly name: string; readonly schema: Schema }[];
  readonly body: { readonly contentType: string; readonly schema: Schema } | undefined;
  readonly ifMatch: boolean;
  /** Takes an Idempotency-Key, as the document says (commands; pure routes ignore the header). */
  readonly idempotent: boolean;
  readonly resumable: boolean;
  /** Slack's interactions: authenticated by Slack's signature, not a bearer token. */
  readonly slack: boolean;
}

const document = buildOpenApiDocument() as unknown as {
  paths: Record<string, Record<string, DocumentOperation>>;
  components: { schemas: Record<string, Schema> };
};

/** A schema with its `$ref`s followed, one level at a time. */
export const resolve = (schema: Schema): Schema => {
  if (!schema.$ref) return schema;
  const name = schema.$ref.replace('#/components/schemas/', '');
  const target = document.components.schemas[name];
  if (!target) throw new Error(`unknown schema ${schema.$ref}`);
  return resolve(target);
};

/** Every operation of the document (`operationList()`, built or not), with what the properties need of its OpenAPI description. */
export const documentOperations = (): Operation[] =>
  operationList().map(({ method, path }) => {
    const operation = document.paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${method} ${path} is listed but not in the document`);
    const parameters = operation.parameters ?? [];
    const header = (name: string) =>
      parameters.some((parameter) => parameter.in === 'header' && parameter.name === name);
    const [contentType, media] = Object.entries(operation.requestBody?.content ?? {})[0] ?? [];
    return {
      method,
      path,
      name: `${method} ${path}`,
      roles: operation['x-roles'],
      pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!),
      query: parameters
        .filter((parameter) => parameter.in === 'query')
        .map((parameter) => ({ name: parameter.name, schema: resolve(parameter.schema ?? {}) })),
      body: contentType && media ? { contentType, schema: resolve(media.schema) } : undefined,
      ifMatch: header('If-Match'),
      idempotent: header('Idempotency-Key'),
      resumable: header('Last-Event-ID'),
      slack: header('X-Slack-Signature'),
    };
  });

/** Commands change state; everything else only reads. */
export const isCommand = (operation: Operation): boolean => !['GET', 'HEAD'].includes(operation.method);

// ---------------------------------------------------------------------------------------------
// Hostile values

/** Strings that have broken servers before: traversal, injection, encodings, prototype names, format strings. */
export const HOSTILE_TEXT: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0001\u0002\u001b[31m\u007f',
  '\r\nX-Injected: 1',
  '\t',
  'é',
  '\u202eevil',
  '\ufeff',
  '\u200b',
  '\ud800',
  'a\udfffb',
  '😀',
  'e\u0301'.repeat(40),
  '../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '..%2F..%2Fetc%2Fpasswd',
  "' OR '1'='1",
  '1; DROP TABLE events; --',
  '$(touch /tmp/pwned)',
  '`id`',
  '; rm -rf / #',
  '| cat /etc/passwd',
  '&& reboot',
  '${IFS}',
  '${7*7}',
  '{{7*7}}',
  '%s%s%s%n',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '0x10',
  'true',
  '[]',
  '{}',
  '--upload-pack=touch /tmp/pwned',
  '-rf',
  'refs/heads/../../x',
  'HEAD@{1}',
  'a'.repeat(256),
];

/** Any string a client could send in JSON: hostile ones, random unicode (lone surrogates too), long ones. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE_TEXT), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 1 },
  { arbitrary: fc.constantFrom(201, 2_001, 20_001, 50_001, 300_000).map((length) => `@@huge:${length}@@`), weight: 1 },
);

/**
 * Path segments, as sent (already encoded): the hostile strings percent-encoded, and raw
 * encodings that are themselves the attack — encoded slashes, NUL, invalid and overlong
 * percent-escapes, invalid UTF-8, a lone surrogate, dot segments, very long ids.
 */
const RAW_SEGMENTS: readonly string[] = [
  '..%2F..',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e',
  '%2e%2e%2f%2e%2e',
  '..',
  '.',
  '%00',
  'a%00b',
  '%ZZ',
  '%',
  '%E0%A4%A',
  '%C0%AE%C0%AE',
  '%FF%FE',
  '%ED%A0%80',
  '%F0%9F%98%80',
  '%25',
  '%252e%252e',
  '%20',
  '+',
  '~',
  '%3Bls',
  'x;y=z',
  '@@long:a:4000@@',
  '%C3%A9'.repeat(100),
  '@@long:A:6000@@',
];

/** Percent-encodes every byte of the UTF-8 form but the unreserved ones (a lone surrogate becomes U+FFFD's bytes). */
export const encodeBytes = (value: string): string =>
  [...Buffer.from(value, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');

export const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...RAW_SEGMENTS), weight: 3 },
  { arbitrary: fc.constantFrom(...HOSTILE_TEXT.filter((text) => text !== '')).map(encodeBytes), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map(encodeBytes), weight: 2 },
);

/** A value nested `depth` levels deep, written out directly (no recursion in the test either). */
const deep = (depth: number, kind: string): string =>
  kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** Tokens that stand for large or raw parts of a JSON body until it is turned into bytes. */
const TOKEN = /"@@(deep|huge|bytes):([^@"]*)@@"/g;

/** JSON text with its tokens expanded: deep nesting, huge strings, raw (invalid UTF-8) bytes inside a string. */
export const expandTokens = (text: string): Buffer => {
  const parts: Buffer[] = [];
  let at = 0;
  for (const match of text.matchAll(TOKEN)) {
    parts.push(Buffer.from(text.slice(at, match.index), 'utf8'));
    const [, kind, argument = ''] = match;
    if (kind === 'deep') {
      const [depth, shape] = argument.split(':');
      parts.push(Buffer.from(deep(Number(depth), shape ?? 'array')));
    } else if (kind === 'huge') {
      parts.push(Buffer.from(`"${'Aé'.repeat(Math.ceil(Number(argument) / 2)).slice(0, Number(argument))}"`, 'utf8'));
    } else {
      parts.push(Buffer.concat([Buffer.from('"'), Buffer.from(argument, 'hex'), Buffer.from('"')]));
    }
    at = match.index + match[0].length;
  }
  parts.push(Buffer.from(text.slice(at), 'utf8'));
  return Buffer.concat(parts);
};

/** Deeply nested arrays or objects, as a token. */
export const deepValue: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(64, 1_000, 10_000, 100_000), fc.constantFrom('array', 'object'))
  .map(([depth, kind]) => `@@deep:${depth}:${kind}@@`);

/** Invalid UTF-8 inside a string: a lone continuation byte, a truncated sequence, an encoded surrogate, an overlong NUL. */
export const rawBytes: fc.Arbitrary<string> = fc
  .constantFrom('ff', 'c328', 'e28228', 'eda080', 'c080', 'f8a1a1a1a1', '80', 'fe')
  .map((hex) => `@@bytes:${hex}@@`);

const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 3 },
  { arbitrary: hostileString, weight: 2 },
  { arbitrary: deepValue, weight: 1 },
  { arbitrary: rawBytes, weight: 1 },
);

/** Keys that must never reach an object's prototype, and other odd ones. */
const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  '__defineGetter__',
  'hasOwnProperty',
  'toString',
  'valueOf',
  '',
  ' ',
  '\u0000',
  '$where',
  'a.b',
  'a[b]',
  '🔑',
];

/** Extra members for an object body: prototype-pollution keys, odd names, invalid UTF-8 names, any values. */
const extraMembers = (known: readonly string[]): fc.Arbitrary<[string, unknown][]> =>
  fc.array(
    fc.tuple(
      fc
        .oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ unit: 'binary', maxLength: 12 }), rawBytes)
        .filter((key) => !known.includes(key)),
      fc.oneof(anyJson, fc.constant({ polluted: true }), fc.constant({ prototype: { polluted: true } })),
    ),
    { maxLength: 3 },
  );

/** An object with own members in order, `__proto__` included as an own member (as JSON.parse would make it). */
const objectOf = (members: readonly (readonly [string, unknown])[]): Record<string, unknown> => {
  const object: Record<string, unknown> = {};
  for (const [key, value] of members)
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
};

// ---------------------------------------------------------------------------------------------
// Bodies that break their schema

/** Values of another JSON type than the schema's, deep ones included. */
const wrongTypes = (schema: Schema): fc.Arbitrary<unknown> => {
  const type = schema.type ?? (schema.enum || schema.const !== undefined ? 'string' : undefined);
  const candidates: fc.Arbitrary<unknown>[] = [fc.constant(null)];
  if (type !== 'string') candidates.push(hostileString);
  if (type !== 'integer' && type !== 'number')
    candidates.push(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })));
  if (type !== 'boolean') candidates.push(fc.boolean());
  if (type !== 'array')
    candidates.push(
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
      deepValue.map((token) => token.replace(':object@@', ':array@@')),
    );
  // An object where a string is expected: deep ones too.
  if (type !== 'object')
    candidates.push(
      fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      deepValue.map((token) => token.replace(':array@@', ':object@@')),
    );
  return fc.oneof(...candidates);
};

/** A valid value of the schema (real ids where the property names one), the base a violation is made in. */
export const validOf = (schema: Schema, real: (property: string) => unknown, property = ''): unknown => {
  const known = real(property);
  if (known !== undefined) return known;
  const resolved = resolve(schema);
  if (resolved.const !== undefined) return resolved.const;
  if (resolved.enum) return resolved.enum[0];
  switch (resolved.type) {
    case 'object':
      return Object.fromEntries(
        (resolved.required ?? []).map((name) => [name, validOf(resolved.properties?.[name] ?? {}, real, name)]),
      );
    case 'array':
      return Array.from({ length: Math.max(1, resolved.minItems ?? 0) }, () =>
        validOf(resolved.items ?? {}, real, property),
      );
    case 'boolean':
      return false;
    case 'integer':
    case 'number':
      return resolved.minimum ?? 1;
    default:
      return 'a'.repeat(Math.max(1, resolved.minLength ?? 1));
  }
};

/**
 * Values that break `schema` for certain: a wrong type, a missing required member, a string too
 * long or too short, outside its enum or pattern, an array with too many or too few items or a
 * bad item, an unknown id where a real one belongs. Undefined when nothing certainly breaks it.
 */
export const violationOf = (
  schema: Schema,
  real: (property: string) => unknown,
  property = '',
  depth = 0,
): fc.Arbitrary<unknown> | undefined => {
  const resolved = resolve(schema);
  const options: fc.Arbitrary<unknown>[] = [];
  if (resolved.type !== undefined || resolved.enum || resolved.const !== undefined) options.push(wrongTypes(resolved));
  if (typeof real(property) === 'string' && /_id$/.test(property))
    options.push(hostileSegment.map((segment) => `unknown-${segment}`.slice(0, 200)));
  switch (resolved.type) {
    case 'object': {
      const properties = resolved.properties ?? {};
      const base = validOf(resolved, real, property) as Record<string, unknown>;
      const known = Object.keys(properties);
      for (const name of resolved.required ?? []) {
        options.push(
          extraMembers(known).map((extra) =>
            objectOf([...Object.entries(base).filter(([key]) => key !== name), ...extra]),
          ),
        );
      }
      if (depth < 3) {
        for (const [name, member] of Object.entries(properties)) {
          const broken = violationOf(member, real, name, depth + 1);
          if (!broken) continue;
          options.push(
            fc
              .tuple(broken, extraMembers(known))
              .map(([value, extra]) =>
                objectOf([...Object.entries(base).filter(([key]) => key !== name), [name, value], ...extra]),
              ),
          );
        }
      }
      break;
    }
    case 'array':
      if (resolved.maxItems !== undefined)
        options.push(
          fc.constant(Array.from({ length: resolved.maxItems + 1 }, () => validOf(resolved.items ?? {}, real))),
        );
      if ((resolved.minItems ?? 0) > 0) options.push(fc.constant([]));
      if (resolved.items && depth < 3) {
        const item = violationOf(resolved.items, real, property, depth + 1);
        if (item) options.push(item.map((value) => [validOf(resolved.items!, real), value]));
      }
      break;
    case 'string':
      if (resolved.maxLength !== undefined)
        options.push(fc.constantFrom(1, 1_000, 100_000).map((over) => `@@huge:${resolved.maxLength! + over}@@`));
      if ((resolved.minLength ?? 0) > 0) options.push(fc.constant(''));
      if (resolved.pattern) {
        const pattern = new RegExp(resolved.pattern);
        options.push(hostileString.filter((text) => !text.startsWith('@@') && !pattern.test(text)));
      }
      if (resolved.enum) options.push(hostileString.filter((text) => !resolved.enum!.includes(text)));
      break;
    case 'integer':
    case 'number':
      if (resolved.minimum !== undefined) options.push(fc.constant(resolved.minimum - 1));
      if (resolved.maximum !== undefined) options.push(fc.constant(resolved.maximum + 1));
      if (resolved.type === 'integer') options.push(fc.constant(1.5));
      break;
    default:
      break;
  }
  return options.length > 0 ? fc.oneof(...options) : undefined;
};

// ---------------------------------------------------------------------------------------------
// Requests

/** A request as data: readable in a counterexample, turned into bytes by `toRaw`. */
export interface RequestSpec {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: readonly (readonly [string, string])[];
  /** JSON text (with tokens), another text, or the size of a body over the limit. */
  readonly body?:
    | { readonly kind: 'json' | 'text'; readonly text: string }
    | { readonly kind: 'over-limit'; readonly bytes: number; readonly gzip: boolean };
  readonly framing?: 'length' | 'chunked';
  /** How to sign a Slack request, if at all. */
  readonly slackSignature?: SlackSigning;
  readonly auth: Auth;
}

/** Whose token goes in `Authorization: Bearer`, none, or a raw `Authorization` value. */
export type Auth = 'operator' | 'viewer' | 'auditor' | 'none' | { readonly raw: string };

export interface Tokens {
  readonly operator: string;
  readonly viewer: string;
  readonly auditor: string;
}

/** A generated request and what its answer must be. */
export interface HostileCase {
  /** Why it must be refused (4xx); undefined when it may also be served (reads). */
  readonly defect: string | undefined;
  /** The one status it must get, when the property is that exact (401, 403). */
  readonly expect?: number;
  /** Statuses it must not get (an allowed role is never 401 or 403). */
  readonly forbid?: readonly number[];
  /** A signed Slack press: contract 1.1 answers one that can no longer act 200 with an ephemeral message (nothing changes). */
  readonly ephemeralAllowed?: boolean;
  readonly request: RequestSpec;
}

type SlackSigning =
  | 'valid'
  | 'none'
  | 'timestamp only'
  | 'signature only'
  | 'wrong secret'
  | 'stale'
  | 'future'
  | 'timestamp not a number'
  | 'signature not hex';

/** Malformed JSON, each certainly refused by a strict parser (a strict prefix of an object is never an object). */
const MALFORMED_JSON: readonly string[] = [
  '{',
  '{"a":',
  '{"a":1,}',
  "{'a':1}",
  '{"a":NaN}',
  '{"a":undefined}',
  '{"a":0x10}',
  '{"a":01}',
  '[1,2',
  '{"a":1}}',
  '{"a":1}garbage',
  '{"a":"raw \u0001 control"}',
  '{"a":"raw\nnewline"}',
  '//comment\n{}',
  '{"a" 1}',
  '{"__proto__":}',
  'null',
  'true',
  '123',
  '"a string"',
  ' ',
  '\u0000',
  '{"a":"\\x41"}',
  '{"a":"\\u12"}',
  '{"a":1,"a":}',
];

const malformedJson = (base: unknown): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(...MALFORMED_JSON),
    // A cut valid body: a strict prefix of an object's text is never valid JSON.
    fc
      .nat()
      .map((cut) => {
        const text = JSON.stringify(base) ?? '{}';
        return text.slice(0, cut % text.length);
      })
      .filter((text) => text.trim() !== ''),
    // Invalid UTF-8 outside any string.
    fc.constant('{"a":1,@@bytes:ff@@:2'),
  );

/** Content types a JSON endpoint must refuse (415). */
const NOT_JSON = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=zz',
  'application/xml',
  'text/html; charset=utf-8',
  'application/jsonx',
  'image/png',
  'application/json-seq',
];
/**
 * JSON as clients spell it; a `+json` type too, which the gateway must either parse or refuse
 * (it once passed such bodies through unread, as an empty body). Mostly plain `application/json`,
 * so most cases reach the body's validation.
 */
const jsonType = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 6 },
  {
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'Application/JSON',
      'application/json; charset="utf-8"; foo=bar',
      'application/merge-patch+json',
    ),
    weight: 2,
  },
);

/**
 * Headers that change nothing about a request's meaning but have broken parsers and loggers. Long
 * ones stay within Node's 16 KiB head limit: past it Node itself answers 431 before the gateway
 * sees anything (the raw-HTTP test sends such heads).
 */
const headerValue = fc.oneof(
  fc.constantFrom(...HOSTILE_TEXT.filter((text) => /^[\t\x20-\x7e\x80-\xff]*$/.test(text) && !/^\s|\s$/.test(text))),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((text) => text.replace(/[^\x20-\x7e]/g, '')),
  fc.constantFrom('@@long:é:200@@', '@@long:x:1500@@', '\xff\xfe\x80', 'a\tb'),
);
const decorationHeaders: fc.Arbitrary<[string, string][]> = fc.array(
  fc.oneof(
    headerValue.map((value): [string, string] => ['X-Request-Id', value]),
    headerValue.map((value): [string, string] => ['X-Correlation-Id', value]),
    headerValue.map((value): [string, string] => ['Accept', value]),
    headerValue.map((value): [string, string] => ['Origin', value]),
    headerValue.map((value): [string, string] => ['X-Forwarded-For', value]),
    headerValue.map((value): [string, string] => ['Cookie', value]),
    headerValue.map((value): [string, string] => ['Range', value]),
    headerValue.map((value): [string, string] => ['Accept-Language', value]),
    fc.constantFrom<[string, string]>(
      ['Content-Encoding', 'gzip'],
      ['Content-Encoding', 'deflate'],
      ['Content-Encoding', 'br'],
      ['Content-Encoding', 'x-bogus'],
      ['Accept-Encoding', 'gzip, br, *;q=0'],
    ),
    fc
      .integer({ min: 1, max: 80 })
      .map((count): [string, string] => [
        'X-Flood',
        Array.from({ length: count }, (_, index) => `v${index}`).join(', '),
      ]),
  ),
  { maxLength: 4 },
);

/** `Idempotency-Key` values the contract refuses: empty, too long, not printable ASCII. */
const BAD_IDEMPOTENCY_KEYS = ['', '@@long:k:256@@', '@@long:k:1000@@', 'clé', 'key\twith tab', '\xff\xfe', '\x80'];
const validIdempotencyKey = fc
  .string({ unit: 'binary-ascii', minLength: 1, maxLength: 255 })
  .map((text) => text.replace(/[^\x21-\x7e]/g, 'k'))
  .filter((text) => text.length > 0);

/** `If-Match` values that are malformed (400) or name a revision the resource is not at (412). */
const BAD_IF_MATCH = [
  'abc',
  '"-1"',
  '"1.5"',
  '*',
  '"1"x',
  'W/',
  '""',
  `"${'9'.repeat(16)}"`,
  '"99999"',
  'W/"99999"',
  '"0", "1"',
  '\xff',
];

/** `Last-Event-ID` and `?from=` values: garbage, negative, huge, far in the future. */
const RESUME_POINTS = [
  '',
  'abc',
  '-1',
  '1.5',
  '1e3',
  ' 7 ',
  '999999999999999',
  '9999999999999999',
  '0x10',
  '\xff',
  '1,2',
];

/** Query-string values: the declared parameters broken, repeated or hostile, and extra ones. */
const queryOf = (operation: Operation, force: boolean): fc.Arbitrary<string> => {
  const breakable = operation.query.filter((parameter) => parameter.schema.type === 'integer' || parameter.schema.enum);
  const invalid = (parameter: { name: string; schema: Schema }): fc.Arbitrary<string> => {
    const { schema } = parameter;
    const values: string[] = ['', 'abc', '1.5', '-1', '1e3', '0x10', '%201', '99999999999999999999', '%00', '%ZZ', '%'];
    if (schema.minimum !== undefined) values.push(String(schema.minimum - 1));
    if (schema.maximum !== undefined) values.push(String(schema.maximum + 1));
    return fc.oneof(
      fc.constantFrom(...values.map((value) => `${parameter.name}=${value}`)),
      fc.constant(`${parameter.name}=1&${parameter.name}=2`),
    );
  };
  const anyParameter = fc.oneof(
    ...operation.query.map((parameter) =>
      fc.oneof(
        hostileString
          .filter((text) => !text.startsWith('@@'))
          .map((value) => `${parameter.name}=${encodeBytes(value)}`),
        fc.constantFrom(...RESUME_POINTS).map((value) => `${parameter.name}=${encodeBytes(value)}`),
      ),
    ),
    fc.constantFrom(
      '__proto__[polluted]=1',
      'constructor[prototype][polluted]=1',
      '__proto__=x',
      'a[b][c][d]=1',
      '=',
      '&&&',
      '%',
      '%ZZ=%ZZ',
      'x=%00',
      'limit=',
      'cursor=' + Buffer.from('o:-1').toString('base64url'),
      'cursor=' + Buffer.from('o:99999999999').toString('base64url'),
    ),
    fc
      .tuple(
        fc.string({ unit: 'binary', maxLength: 10 }),
        hostileString.filter((text) => !text.startsWith('@@')),
      )
      .map(([key, value]) => `${encodeBytes(key)}=${encodeBytes(value)}`),
  );
  const extra = fc.array(anyParameter, { maxLength: 4 });
  if (force && breakable.length > 0) {
    return fc.tuple(fc.oneof(...breakable.map(invalid)), extra).map(([bad, rest]) => [bad, ...rest].join('&'));
  }
  return extra.map((parts) => parts.join('&'));
};

/** The operation's path with real ids, some replaced by hostile ones (at least one when `force`). */
const pathOf = (
  operation: Operation,
  realParams: (name: string) => readonly string[],
  force: boolean,
): fc.Arbitrary<string> =>
  fc
    .tuple(
      ...operation.pathParams.map((name) =>
        fc.tuple(fc.option(hostileSegment, { freq: 2 }), fc.constantFrom(...realParams(name).map(encodeURIComponent))),
      ),
    )
    .filter((values) => !force || values.some(([hostile]) => hostile !== null))
    .map((values) =>
      operation.pathParams.reduce(
        (path, name, index) => path.replace(`{${name}}`, values[index]![0] ?? values[index]![1]),
        operation.path,
      ),
    );

/** The defects an operation can be given, each certain to make the gateway refuse it. */
const defectsOf = (operation: Operation, plainJson: boolean): string[] => {
  const defects: string[] = [];
  if (operation.pathParams.length > 0) defects.push('unknown id in the path');
  if (
    operation.query.some((parameter) => parameter.schema.type === 'integer' || parameter.schema.enum) &&
    isCommand(operation)
  )
    defects.push('invalid query parameter');
  if (isCommand(operation))
    defects.push('malformed body', ...(plainJson ? [] : ['body of another content type']), 'body over the limit');
  if (operation.body && !operation.slack && operation.body.contentType === 'application/json')
    defects.push('body that breaks the schema');
  if (operation.idempotent) defects.push('invalid Idempotency-Key');
  if (operation.ifMatch) defects.push('If-Match that does not hold');
  return defects;
};

export interface AttackContext {
  readonly realParams: (name: string) => readonly string[];
  /** Real values for body members (ids of the prepared state, slugs of its session). */
  readonly realMember: (name: string) => unknown;
  /** The size limit of a body. */
  readonly bodyLimit: number;
}

/**
 * A hostile request for one operation with a valid operator token. Every command carries at
 * least one defect that the contract says must be refused (so no state may change); reads
 * carry any mix of hostile parts, and may be served.
 */
export const hostileRequest = (
  operation: Operation,
  context: AttackContext,
  options: { plainJson?: boolean } = {},
): fc.Arbitrary<HostileCase> => {
  // `plainJson`: every body is sent as `application/json`, unencoded, for properties about something else than bodies.
  const plainJson = options.plainJson ?? false;
  const defects = defectsOf(operation, plainJson);
  const primary: fc.Arbitrary<string | undefined> =
    defects.length === 0
      ? fc.constant(undefined)
      : isCommand(operation)
        ? fc.constantFrom(...defects)
        : fc.option(fc.constantFrom(...defects), { freq: 2 }).map((value) => value ?? undefined);
  return primary.chain((defect) => {
    const base = operation.body ? validOf(operation.body.schema, context.realMember) : {};
    const knownMembers = Object.keys(operation.body?.schema.properties ?? {});
    const decoratedBase = extraMembers(knownMembers).map((extra) =>
      JSON.stringify(
        typeof base === 'object' && base !== null && !Array.isArray(base)
          ? objectOf([...Object.entries(base), ...extra])
          : base,
      ),
    );
    const violation = operation.body ? violationOf(operation.body.schema, context.realMember) : undefined;
    const jsonBody: fc.Arbitrary<RequestSpec['body']> = (() => {
      switch (defect) {
        case 'body that breaks the schema':
          return violation!.map((value) => ({ kind: 'json' as const, text: JSON.stringify(value) ?? 'null' }));
        case 'malformed body':
          return malformedJson(base).map((text) => ({ kind: 'json' as const, text }));
        case 'body over the limit':
          return fc.record({
            kind: fc.constant('over-limit' as const),
            bytes: fc.integer({ min: context.bodyLimit + 1, max: context.bodyLimit + 300_000 }),
            gzip: plainJson ? fc.constant(false) : fc.boolean(),
          });
        default:
          // Anything: nothing, the valid base with hostile members, a violation, any JSON.
          return fc.oneof(
            fc.constant(undefined),
            decoratedBase.map((text) => ({ kind: 'json' as const, text })),
            ...(violation
              ? [violation.map((value) => ({ kind: 'json' as const, text: JSON.stringify(value) ?? 'null' }))]
              : []),
            anyJson.map((value) => ({ kind: 'json' as const, text: JSON.stringify(value) ?? 'null' })),
          );
      }
    })();
    const contentType =
      defect === 'body of another content type'
        ? fc.constantFrom(...NOT_JSON, '')
        : plainJson
          ? fc.constant('application/json')
          : jsonType;
    const idempotencyKey: fc.Arbitrary<string | null> =
      defect === 'invalid Idempotency-Key'
        ? fc.constantFrom(...BAD_IDEMPOTENCY_KEYS)
        : operation.method === 'POST'
          ? fc.option(validIdempotencyKey, { freq: 3 })
          : fc.constant(null);
    const ifMatch: fc.Arbitrary<string | null> =
      defect === 'If-Match that does not hold'
        ? fc.constantFrom(...BAD_IF_MATCH)
        : operation.ifMatch
          ? fc.option(fc.constantFrom(...BAD_IF_MATCH), { freq: 3 })
          : fc.constant(null);
    const resume: fc.Arbitrary<string | null> = operation.resumable
      ? fc.option(fc.constantFrom(...RESUME_POINTS), { freq: 2 })
      : fc.constant(null);
    return fc
      .record({
        path: pathOf(operation, context.realParams, defect === 'unknown id in the path'),
        query: queryOf(operation, defect === 'invalid query parameter'),
        body:
          isCommand(operation) || defect !== undefined
            ? jsonBody
            : fc.option(jsonBody, { freq: 5 }).map((body) => body ?? undefined),
        contentType,
        idempotencyKey,
        ifMatch,
        resume,
        decoration: decorationHeaders,
        chunked: fc.boolean(),
      })
      .map(
        ({
          path,
          query,
          body,
          contentType: type,
          idempotencyKey: key,
          ifMatch: match,
          resume: lastEventId,
          decoration,
          chunked,
        }) => {
          // A body of another type is the defect: it must be there to be refused.
          const sentBody =
            defect === 'body of another content type' && body === undefined
              ? { kind: 'text' as const, text: 'a=1' }
              : body;
          const headers: [string, string][] = [];
          if (sentBody !== undefined && type !== '') headers.push(['Content-Type', type]);
          if (key !== null) headers.push(['Idempotency-Key', key]);
          if (match !== null) headers.push(['If-Match', match]);
          if (lastEventId !== null) headers.push(['Last-Event-ID', lastEventId]);
          // A compressed or oddly encoded body is a decoration only where the body's meaning does not matter.
          const kept = decoration.filter(
            ([name]) =>
              name !== 'Content-Encoding' ||
              (!plainJson &&
                (defect === 'malformed body' || defect === 'body of another content type' || sentBody === undefined)),
          );
          headers.push(...kept);
          return {
            defect,
            request: {
              method: operation.method,
              path,
              query,
              headers,
              body: sentBody,
              framing: chunked ? ('chunked' as const) : ('length' as const),
              auth: 'operator' as const,
            },
          };
        },
      );
  });
};

/**
 * Methods a path does not list in the document (405 for a known path, 404 for an unknown id),
 * and HEAD on the ones it reads, with any body, hostile ids and a valid operator token.
 */
export const unlistedMethodRequest = (
  path: string,
  listed: readonly Operation[],
  context: AttackContext,
): fc.Arbitrary<HostileCase> => {
  const template = listed[0]!;
  const unlisted = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter(
    (method) => !listed.some((operation) => operation.method === method),
  );
  const head = listed.some((operation) => operation.method === 'GET') ? ['HEAD'] : [];
  return fc
    .record({
      method: fc.constantFrom(...unlisted, ...head),
      path: pathOf(template, context.realParams, false),
      body: fc.option(
        anyJson.map((value) => JSON.stringify(value) ?? 'null'),
        { freq: 2 },
      ),
      decoration: decorationHeaders.map((headers) => headers.filter(([name]) => name !== 'Content-Encoding')),
    })
    .map(({ method, path: filled, body, decoration }) => ({
      defect: method === 'HEAD' ? undefined : `${method} is not an operation of ${path}`,
      request: {
        method,
        path: filled,
        query: '',
        headers: [...(body === null ? [] : [['Content-Type', 'application/json'] as [string, string]]), ...decoration],
        ...(body === null ? {} : { body: { kind: 'json' as const, text: body } }),
        auth: 'operator' as const,
      },
    }));
};

// ---------------------------------------------------------------------------------------------
// Slack's interactions: signed, not tokened

/** Payloads Slack would never send, or that name nothing a press may change: each is refused even when signed. */
export const refusedSlackPayload = (
  context: AttackContext,
  deploymentsDone: readonly string[],
): fc.Arbitrary<string> => {
  const session = String(context.realMember('session_id'));
  const actionValue = fc.oneof(
    hostileString.filter((text) => !text.startsWith('@@')),
    hostileSegment.map((id) => `confirm_deployment:${decodeURIComponentSafe(id)}`),
    hostileSegment.map((id) => `reject_deployment:${decodeURIComponentSafe(id)}`),
    fc.constantFrom(...deploymentsDone).map((id) => `confirm_deployment:${id}`),
    fc.constantFrom(...deploymentsDone).map((id) => `reject_deployment:${id}`),
    // The session is active: its route can no longer be chosen.
    fc.constantFrom('architect', 'pm', 'builder', 'party-mode').map((route) => `confirm_route:${session}:${route}`),
    hostileString.filter((text) => !text.startsWith('@@')).map((route) => `confirm_route:${session}:${route}`),
    hostileSegment.map((id) => `answer:${session}:${decodeURIComponentSafe(id)}:my answer`),
    hostileSegment.map((id) => `answer:${decodeURIComponentSafe(id)}:q-1:my answer`),
    fc.constant(`answer:${session}:${String(context.realMember('question_id'))}:`),
  );
  const payload = fc.oneof(
    actionValue.map((value) =>
      JSON.stringify({
        type: 'block_actions',
        user: { id: 'U1', username: 'mallory' },
        actions: [{ action_id: 'a', value }],
      }),
    ),
    fc.constantFrom(
      JSON.stringify({ type: 'block_actions', user: { id: 'U1' }, actions: [] }),
      JSON.stringify({ type: 'block_actions', actions: [{ value: `confirm_route:${session}:builder` }] }),
      JSON.stringify({ user: 'U1', actions: [{ value: 1 }] }),
      JSON.stringify({ user: { id: 5 }, actions: 'confirm' }),
      JSON.stringify([1, 2]),
      'null',
      '{"user":',
      '',
    ),
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    hostileString.filter((text) => !text.startsWith('@@')),
  );
  return fc.oneof(
    {
      arbitrary: payload.map((text) => `payload=${encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '?'))}`),
      weight: 6,
    },
    // Repeated, nested or missing `payload`; prototype keys; raw junk.
    {
      arbitrary: fc.constantFrom(
        'payload=a&payload=b',
        'payload[user]=x',
        'payload[__proto__][polluted]=1',
        '__proto__[polluted]=1',
        'constructor[prototype][polluted]=1',
        'x=1',
        '',
        '&&&=',
        '%ZZ',
        `payload=${'%7B'.repeat(500)}`,
      ),
      weight: 2,
    },
  );
};

const decodeURIComponentSafe = (value: string): string => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

/** A hostile Slack interaction: unsigned or wrongly signed (401), or signed with a payload that is refused. */
export const hostileSlackRequest = (
  operation: Operation,
  context: AttackContext,
  deploymentsDone: readonly string[],
): fc.Arbitrary<HostileCase> =>
  fc
    .record({
      signing: fc.constantFrom<SlackSigning>(
        'valid',
        'valid',
        'valid',
        'none',
        'timestamp only',
        'signature only',
        'wrong secret',
        'stale',
        'future',
        'timestamp not a number',
        'signature not hex',
      ),
      body: fc.oneof(
        {
          arbitrary: refusedSlackPayload(context, deploymentsDone).map((text) => ({ kind: 'text' as const, text })),
          weight: 8,
        },
        {
          arbitrary: fc.record({
            kind: fc.constant('over-limit' as const),
            bytes: fc.integer({ min: context.bodyLimit + 1, max: context.bodyLimit + 100_000 }),
            gzip: fc.constant(false),
          }),
          weight: 1,
        },
      ),
      contentType: fc.oneof(
        { arbitrary: fc.constant('application/x-www-form-urlencoded'), weight: 5 },
        {
          arbitrary: fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=zz', ''),
          weight: 1,
        },
      ),
      decoration: decorationHeaders.map((headers) => headers.filter(([name]) => name !== 'Content-Encoding')),
      auth: fc.constantFrom<Auth>('none', 'operator', 'viewer'),
    })
    .map(({ signing, body, contentType, decoration, auth }) => ({
      defect: signing === 'valid' ? 'a signed press that names nothing it may change' : `Slack signature: ${signing}`,
      ...(signing === 'valid' ? { ephemeralAllowed: true } : {}),
      request: {
        method: operation.method,
        path: operation.path,
        query: '',
        headers: [...(contentType === '' ? [] : [['Content-Type', contentType] as [string, string]]), ...decoration],
        body,
        slackSignature: signing,
        auth,
      },
    }));

// ---------------------------------------------------------------------------------------------
// Sending and judging

const overLimitBody = (bytes: number, slack: boolean): Buffer => {
  const text = slack ? `payload=${'A'.repeat(bytes)}` : `{"x":"${'A'.repeat(bytes)}"}`;
  return Buffer.from(text);
};

/** The spec as bytes on the wire, with the token and Slack's signature where asked. */
export const toRaw = (spec: RequestSpec, options: { tokens: Tokens; slackSecret: string }): RawRequest => {
  let body: Buffer | undefined;
  // `@@long:<char>:<n>@@` stands for a long header value (kept short in a counterexample).
  const headers: [string, string | Buffer][] = spec.headers.map(([name, value]) => [
    name,
    Buffer.from(
      value.replace(/^@@long:(.):(\d+)@@$/, (_m, char: string, n: string) => char.repeat(Number(n))),
      'latin1',
    ),
  ]);
  if (spec.body?.kind === 'over-limit') {
    const raw = overLimitBody(spec.body.bytes, spec.slackSignature !== undefined);
    // A gzip bomb: a few KB on the wire that inflate past the limit.
    body = spec.body.gzip ? gzipSync(raw) : raw;
    if (spec.body.gzip) headers.push(['Content-Encoding', 'gzip']);
  } else if (spec.body) {
    body = spec.body.kind === 'json' ? expandTokens(spec.body.text) : Buffer.from(spec.body.text, 'utf8');
  }
  if (typeof spec.auth === 'object') headers.unshift(['Authorization', Buffer.from(spec.auth.raw, 'latin1')]);
  else if (spec.auth !== 'none') headers.unshift(['Authorization', `Bearer ${options.tokens[spec.auth]}`]);
  if (spec.slackSignature !== undefined)
    headers.push(...slackHeaders(spec.slackSignature, options.slackSecret, body ?? Buffer.alloc(0)));
  const path = spec.path.replace(/@@long:(.):(\d+)@@/g, (_m, char: string, n: string) => char.repeat(Number(n)));
  return {
    method: spec.method,
    target: `${path}${spec.query === '' ? '' : `?${spec.query}`}`,
    headers,
    ...(body === undefined ? {} : { body }),
    framing: spec.framing ?? 'length',
  };
};

const slackHeaders = (signing: SlackSigning, secret: string, body: Buffer): [string, string][] => {
  const now = Math.floor(Date.now() / 1000);
  const raw = body.toString('utf8');
  const sign = (timestamp: number, key = secret): [string, string][] => [
    ['X-Slack-Request-Timestamp', String(timestamp)],
    ['X-Slack-Signature', signatureOf('v0', key, String(timestamp), raw)],
  ];
  switch (signing) {
    case 'valid':
      return sign(now);
    case 'none':
      return [];
    case 'timestamp only':
      return [['X-Slack-Request-Timestamp', String(now)]];
    case 'signature only':
      return [sign(now)[1]!];
    case 'wrong secret':
      return sign(now, `${secret}-not`);
    // A minute past Slack's 5-minute window either way: a loaded machine takes seconds between signing and checking.
    case 'stale':
      return sign(now - 360);
    case 'future':
      return sign(now + 360);
    case 'timestamp not a number':
      return [['X-Slack-Request-Timestamp', `${now}.5`], sign(now)[1]!];
    case 'signature not hex':
      return [
        ['X-Slack-Request-Timestamp', String(now)],
        ['X-Slack-Signature', 'v0=zz'],
      ];
    default: {
      const unexpected: never = signing;
      return unexpected;
    }
  }
};

/**
 * Refused for its size before anything looked at it, authentication included (a path or query too
 * long, too many query parameters or header fields): as good as the answer a property expects.
 */
const refusedByBounds = (response: RawResponse): boolean =>
  response.status === 414 ||
  response.status === 431 ||
  (response.status === 400 && /"detail":"the query has \d+ parameters; the limit is \d+"/.test(response.text));

/** What must never be in an answer: a stack frame, anywhere; the gateway's own paths, in an error. */
const STACK = [
  /\n\s+at\s/,
  /\bat (?:async )?[\w$.<>]+ \((?:file:\/\/|\/|node:)[^)]*:\d+:\d+\)/,
  /\.(?:ts|js|mjs|cjs):\d+:\d+/,
];

/** Slack's "only you can see this" answer (200, `{ response_type: 'ephemeral', text }`): a refusal a person reads in Slack. */
const isSlackEphemeral = (response: RawResponse): boolean => {
  if (response.status !== 200) return false;
  try {
    const body = JSON.parse(response.text) as { response_type?: unknown; text?: unknown };
    return body.response_type === 'ephemeral' && typeof body.text === 'string';
  } catch {
    return false;
  }
};

/**
 * Why an answer breaks the properties, or undefined: never a 5xx; a request with a defect is
 * refused (4xx, or for a signed Slack press an ephemeral 200); every 4xx is a problem document whose `status` is the answer's; no stack trace
 * in any answer and no path of the gateway's own in an error.
 */
export const faultOf = (
  hostile: HostileCase,
  response: RawResponse,
  secretsOfPlace: readonly string[],
): string | undefined => {
  const { status } = response;
  if (!(status >= 100 && status < 600)) return `no valid status line: ${response.head.slice(0, 200)}`;
  if (status === 429) return 'rate limited: the properties send more than the token pool allows';
  if (status >= 500) return `${status} ${response.text.slice(0, 300)}`;
  if (hostile.expect !== undefined && status !== hostile.expect && !refusedByBounds(response))
    return `expected ${hostile.expect}, got ${status}: ${response.text.slice(0, 300)}`;
  if (hostile.forbid?.includes(status)) return `got ${status}: ${response.text.slice(0, 300)}`;
  if (hostile.defect !== undefined && status < 400 && !(hostile.ephemeralAllowed && isSlackEphemeral(response)))
    return `a request with ${hostile.defect} was served: ${status} ${response.text.slice(0, 300)}`;
  const everything = `${response.head}\n${response.text}`;
  for (const pattern of STACK)
    if (pattern.test(everything)) return `a stack trace in the answer (${pattern}): ${everything.slice(0, 500)}`;
  if (status >= 400) {
    for (const secret of secretsOfPlace)
      if (everything.includes(secret)) return `the error names ${secret}: ${everything.slice(0, 500)}`;
    if (!(response.headers['content-type'] ?? '').startsWith('application/problem+json'))
      return `${status} without a problem document: content-type ${response.headers['content-type']}, body ${response.text.slice(0, 200)}`;
    // A HEAD answer has the GET answer's headers and no body.
    if (hostile.request.method === 'HEAD')
      return response.body.length === 0 ? undefined : `HEAD answered with a body: ${response.text.slice(0, 200)}`;
    let problem: { type?: unknown; title?: unknown; status?: unknown; detail?: unknown };
    try {
      problem = JSON.parse(response.text) as typeof problem;
    } catch {
      return `${status} with a body that is not JSON: ${response.text.slice(0, 200)}`;
    }
    if (
      problem.status !== status ||
      typeof problem.title !== 'string' ||
      typeof problem.detail !== 'string' ||
      typeof problem.type !== 'string'
    )
      return `${status} with a malformed problem: ${response.text.slice(0, 300)}`;
  }
  return undefined;
};

/** Sends a case and returns its fault, if any, naming the request for the report. */
export const sendCase = async (
  url: string,
  hostile: HostileCase,
  options: { tokens: Tokens; slackSecret: string; secretsOfPlace: readonly string[] },
): Promise<{ response: RawResponse; fault: string | undefined }> => {
  const response = await sendRaw(url, toRaw(hostile.request, options));
  return { response, fault: faultOf(hostile, response, options.secretsOfPlace) };
};

export { fc };
export type { RawResponse };
