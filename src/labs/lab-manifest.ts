import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { parse } from 'yaml';
import { formatValidationProblems, reportValidationErrors } from '../events/validation-report.js';

/** Where a repository describes how its lab runs; optional, every key optional. */
export const LAB_MANIFEST = '.lab.yaml';

const Check = t.intersection([
  t.type({ name: t.string, path: t.string }),
  t.partial({
    method: t.keyof({ GET: null, POST: null, PUT: null, PATCH: null, DELETE: null, HEAD: null }),
    body: t.string,
    expect_status: t.number,
    expect_body: t.string,
  }),
]);

export const LabManifest = t.exact(
  t.partial({
    runtime: t.keyof({ uv: null, 'camel-jbang': null, node: null }),
    image: t.string,
    command: t.array(t.string),
    port: t.number,
    env: t.record(t.string, t.string),
    health_path: t.string,
    tests: t.exact(t.partial({ unit: t.array(t.string), integration: t.array(t.string) })),
    acceptance: t.array(Check),
  }),
);
export type LabManifest = t.TypeOf<typeof LabManifest>;

/** The manifest's text, checked: every bad key is named. An absent manifest is an empty one. */
export const parseLabManifest = (text: string | undefined): E.Either<string, LabManifest> => {
  if (text === undefined) return E.right({});
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (error) {
    return E.left(`${LAB_MANIFEST} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const decoded = LabManifest.decode(raw);
  return E.isLeft(decoded)
    ? E.left(`${LAB_MANIFEST}: ${formatValidationProblems(reportValidationErrors(decoded.left)).join('; ')}`)
    : E.right(decoded.right);
};
