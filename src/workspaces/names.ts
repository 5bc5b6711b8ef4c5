import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const SLUG = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A builder is `<category>-<project>`, both DNS-1123 labels: safe as a folder, a branch part and a namespace. */
export const builderName = (category: string, project: string): string => {
  for (const [what, value] of [
    ['category', category],
    ['project', project],
  ] as const) {
    if (!SLUG.test(value) || value.length > 40)
      throw new InvalidNameError(what, value, 'a DNS-1123 label of at most 40 characters');
  }
  return `${category}-${project}`;
};

/** A builder name as it reaches the file system and git: two labels joined by a dash. */
export const checkBuilder = (builder: string): string => {
  if (!SLUG.test(builder) || builder.length > 81)
    throw new InvalidNameError('builder', builder, 'a <category>-<project> name');
  return builder;
};

/** A repository name becomes a folder: a DNS-1123 label, so never `..`, a slash or an absolute path. */
export const checkRepoName = (name: string): string => {
  if (!SLUG.test(name) || name.length > 63) throw new InvalidNameError('repo', name, 'a DNS-1123 label');
  return name;
};

/**
 * A commit id, or a ref as git itself judges it (`git check-ref-format --branch`), so what reaches
 * `git worktree add` is a name git accepts and never an option (no leading dash).
 */
export const checkRef = async (ref: string): Promise<string> => {
  if (/^[0-9a-f]{7,40}$/.test(ref)) return ref; // a commit
  if (ref.startsWith('-') || ref.length > 255) throw new InvalidNameError('ref', ref, 'a git ref name');
  try {
    await run('git', ['check-ref-format', '--branch', ref]);
    return ref;
  } catch {
    throw new InvalidNameError('ref', ref, 'a git ref name');
  }
};

export class InvalidNameError extends Error {
  override readonly name = 'InvalidNameError';
  constructor(
    readonly what: string,
    readonly value: string,
    expected: string,
  ) {
    super(`${what} ${JSON.stringify(value)} is not ${expected}`);
  }
}
