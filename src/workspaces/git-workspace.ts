import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { checkBuilder, checkRef, checkRepoName } from './names.js';

export interface RepoSpec {
  readonly name: string;
  /** Cloned into the repos root when no clone is there yet. */
  readonly url: string | null;
  /** Default: the source repository's HEAD. */
  readonly ref: string | null;
}

export interface PreparedRepo {
  readonly name: string;
  readonly worktree_path: string;
  readonly branch: string;
  readonly base_commit: string;
}

export class UnknownRepoError extends Error {
  override readonly name = 'UnknownRepoError';
  constructor(readonly repo: string, reposRoot: string) {
    super(`repo ${repo} is neither cloned under ${reposRoot} nor given a url`);
  }
}

/**
 * Prepares `<basePath>/<builder>/repos/<repo>/` as git worktrees of the clones under
 * `reposRoot`, each on branch `builder/<builder>`. Converges: a worktree already there (from a
 * run a crash interrupted) is kept and reported as it is, so running it again is safe.
 */
export const prepareWorkspace = async (options: {
  readonly basePath: string;
  readonly reposRoot: string;
  readonly builder: string;
  readonly repos: readonly RepoSpec[];
}): Promise<{ workspacePath: string; repos: PreparedRepo[] }> => {
  const workspacePath = join(options.basePath, checkBuilder(options.builder));
  const branch = `builder/${options.builder}`;
  await checkRef(branch);
  await mkdir(join(workspacePath, 'repos'), { recursive: true });
  const prepared: PreparedRepo[] = [];
  for (const repo of options.repos) {
    const name = checkRepoName(repo.name);
    const source = join(options.reposRoot, name);
    if (!existsSync(join(source, '.git')) && !existsSync(join(source, 'HEAD'))) {
      if (!repo.url) throw new UnknownRepoError(name, options.reposRoot);
      await mkdir(options.reposRoot, { recursive: true });
      // `--` ends the options: a url can never be read as one.
      await simpleGit().clone(repo.url, source, ['--no-hardlinks', '--']);
    }
    const git = simpleGit(source);
    const worktreePath = join(workspacePath, 'repos', name);
    if (!existsSync(join(worktreePath, '.git'))) {
      const ref = repo.ref === null ? 'HEAD' : await checkRef(repo.ref);
      const base = (await git.revparse([`${ref}^{commit}`])).trim();
      await git.raw(['worktree', 'prune']);
      const branches = await git.branchLocal();
      await git.raw(branches.all.includes(branch) ? ['worktree', 'add', worktreePath, branch] : ['worktree', 'add', '-b', branch, worktreePath, base]);
    }
    const worktree = simpleGit(worktreePath);
    prepared.push({
      name,
      worktree_path: worktreePath,
      branch: (await worktree.revparse(['--abbrev-ref', 'HEAD'])).trim(),
      base_commit: (await git.raw(['merge-base', branch, repo.ref === null ? 'HEAD' : repo.ref])).trim(),
    });
  }
  return { workspacePath, repos: prepared };
};

/** Removes the worktrees (`git worktree remove` + prune) and the workspace folder. */
export const removeWorkspace = async (options: { readonly basePath: string; readonly reposRoot: string; readonly builder: string; readonly repos: readonly string[] }): Promise<void> => {
  const workspacePath = join(options.basePath, checkBuilder(options.builder));
  for (const repo of options.repos) {
    const name = checkRepoName(repo);
    const source = join(options.reposRoot, name);
    const worktreePath = join(workspacePath, 'repos', name);
    if (existsSync(source) && existsSync(worktreePath)) await simpleGit(source).raw(['worktree', 'remove', '--force', worktreePath]);
    if (existsSync(source)) await simpleGit(source).raw(['worktree', 'prune']);
  }
  await rm(workspacePath, { recursive: true, force: true });
};
