import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { parse } from 'yaml';
import { formatValidationProblems, reportValidationErrors } from '../events/validation-report.js';

/** Reads and checks an operator's YAML file (`what` names it); a bad file is every problem named. */
export const readYamlFile = <C extends t.Mixed>(
  file: string,
  codec: C,
  what: string,
): E.Either<string, t.TypeOf<C>> => {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return E.left(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
  const decoded = codec.decode(raw);
  if (E.isLeft(decoded))
    return E.left(
      `invalid ${what} in ${file}: ${formatValidationProblems(reportValidationErrors(decoded.left)).join('; ')}`,
    );
  return E.right(decoded.right as t.TypeOf<C>);
};
