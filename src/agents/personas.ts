import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { parse } from 'yaml';
import { formatValidationProblems, reportValidationErrors } from '../events/validation-report.js';
import { ROUTES, type Route } from '../routing/signals.js';

const FrontMatter = t.intersection([
  t.type({ description: t.string }),
  t.partial({ temperature: t.number, permission: t.UnknownRecord }),
]);

/** An OpenCode agent definition (`agent.<name>` in its configuration). */
export interface Persona {
  readonly description: string;
  readonly mode: 'primary';
  readonly prompt: string;
  readonly temperature?: number;
  readonly permission?: Record<string, unknown>;
}

const SPLIT = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/;

/** One persona per route, from `<dir>/<route>.md`: YAML front matter (description, temperature, permission), then the prompt. */
export const loadPersonas = (dir: string): E.Either<string, Record<Route, Persona>> => {
  const personas: Partial<Record<Route, Persona>> = {};
  for (const route of ROUTES) {
    const file = join(dir, `${route}.md`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      return E.left(`persona ${route}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    const match = SPLIT.exec(text);
    if (!match) return E.left(`persona ${route}: ${file} must start with YAML front matter between --- lines`);
    const front = FrontMatter.decode(parse(match[1]!));
    if (E.isLeft(front))
      return E.left(
        `persona ${route}: ${file}: ${formatValidationProblems(reportValidationErrors(front.left)).join('; ')}`,
      );
    personas[route] = { ...front.right, mode: 'primary', prompt: match[2]!.trim() };
  }
  return E.right(personas as Record<Route, Persona>);
};
