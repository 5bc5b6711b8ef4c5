import type * as t from 'io-ts';

/** One failing field of a decoded value: its path (`repos[0].name`) and why it failed. */
export interface ValidationProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Turns io-ts errors into one problem per failing field. Unlike io-ts' PathReporter it keeps the
 * path when a codec supplies its own message, drops the branch indexes unions and intersections
 * add to the context, and never echoes the bad value (it may be a secret), only its kind.
 */
export const reportValidationErrors = (errors: t.Errors): ValidationProblem[] => {
  const seen = new Set<string>();
  const problems: ValidationProblem[] = [];
  for (const error of errors) {
    const { path, expected } = locate(error.context);
    const message =
      error.message ??
      (error.value === undefined ? `required ${expected}` : `expected ${expected}, got ${kindOf(error.value)}`);
    const line = `${path}\n${message}`;
    if (seen.has(line)) continue;
    seen.add(line);
    problems.push({ path, message });
  }
  return problems;
};

/** `path: message` lines, for error messages and logs. */
export const formatValidationProblems = (problems: readonly ValidationProblem[]): string[] =>
  problems.map(({ path, message }) => (path === '' ? message : `${path}: ${message}`));

/**
 * The path of the failing field and the type expected there. A union's branches all fail at one
 * path; naming the union (not the branch) as expected makes them one problem.
 */
const locate = (context: t.Context): { path: string; expected: string } => {
  let path = '';
  let expected = context[0]?.type.name ?? 'a valid value';
  for (let index = 1; index < context.length; index++) {
    const parentTag = tagOf(context[index - 1]!.type);
    const entry = context[index]!;
    if (parentTag === 'UnionType' || parentTag === 'IntersectionType' || isExactIntersection(context[index - 1]!.type))
      continue;
    if (parentTag === 'ArrayType' || parentTag === 'ReadonlyArrayType' || parentTag === 'TupleType')
      path += `[${entry.key}]`;
    else path += path === '' ? entry.key : `.${entry.key}`;
    expected = entry.type.name;
  }
  return { path, expected };
};

/** `t.exact(t.intersection(...))` reports its members by index, with no intersection entry between. */
const isExactIntersection = (type: t.Decoder<unknown, unknown>): boolean =>
  tagOf(type) === 'ExactType' &&
  tagOf((type as unknown as { type: t.Decoder<unknown, unknown> }).type) === 'IntersectionType';

const tagOf = (type: t.Decoder<unknown, unknown>): string | undefined => {
  const tag = (type as { _tag?: unknown })._tag;
  return typeof tag === 'string' ? tag : undefined;
};

const kindOf = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
};
