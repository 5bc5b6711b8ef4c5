import { lstat, readFile } from 'node:fs/promises';
import { devNull } from 'node:os';
import { join, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

/**
 * Configuration an agent could plant in a repository it can write (the clone's config, a
 * worktree's), each set to something harmless. Given to git as command-line configuration (through
 * GIT_CONFIG_COUNT), which wins over every configuration file. The keys are the ones simple-git's
 * own guard (`@simple-git/argv-parser`) treats as able to run a program, less those no command of
 * the gateway's reaches (a filter or diff driver needs one defined in a configuration file the
 * agent cannot reach where the clones are kept out of its reach; see the README's threat model).
 */
const HARDENED: readonly (readonly [string, string])[] = [
  // No hook runs: `commit --no-verify` skips only pre-commit and commit-msg, not post-commit.
  ['core.hooksPath', devNull],
  ['core.fsmonitor', 'false'],
  ['core.pager', 'cat'],
  ['core.editor', 'true'],
  ['sequence.editor', 'true'],
  ['core.askPass', ''],
  ['credential.helper', ''],
  ['core.sshCommand', 'ssh'],
  ['core.gitProxy', ''],
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['protocol.ext.allow', 'never'],
];

/**
 * The whole environment of a git the gateway runs: no secret, token or setting of the gateway's
 * own (a program git starts gets this environment and nothing else), no system or global git
 * configuration, never a prompt, and the hardened configuration above.
 */
export const gitEnvironment = (
  options: {
    /** More variables (a clone's ssh agent, proxy, HOME for ssh's known hosts). */
    readonly env?: Readonly<Record<string, string>>;
    /** More configuration, after the hardened one (a clone's credential header). */
    readonly config?: readonly (readonly [string, string])[];
  } = {},
): Record<string, string> => {
  const config = [...HARDENED, ...(options.config ?? [])];
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: devNull,
    LANG: 'C.UTF-8',
    GIT_TERMINAL_PROMPT: '0',
    ...options.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: devNull,
    GIT_CONFIG_COUNT: String(config.length),
    ...Object.fromEntries(
      config.flatMap(([key, value], index) => [
        [`GIT_CONFIG_KEY_${index}`, key],
        [`GIT_CONFIG_VALUE_${index}`, value],
      ]),
    ),
  };
};

/**
 * simple-git with that environment. Its guard refuses such settings by default, to protect a
 * caller from a configuration it did not mean; these are the gateway's own, meant to disarm.
 */
export const hardenedGit = (baseDir?: string): SimpleGit =>
  simpleGit({
    ...(baseDir === undefined ? {} : { baseDir }),
    unsafe: {
      allowUnsafeConfigEnvCount: true,
      allowUnsafeConfigPaths: true,
      allowUnsafeHooksPath: true,
      allowUnsafeFsMonitor: true,
      allowUnsafePager: true,
      allowUnsafeEditor: true,
      allowUnsafeAskPass: true,
      allowUnsafeCredentialHelper: true,
      allowUnsafeSshCommand: true,
      allowUnsafeGitProxy: true,
      allowUnsafeProtocolOverride: true,
    },
  }).env(gitEnvironment());

/** A worktree as the gateway addresses it: the git directory it made for it, never the `.git` the worktree holds now. */
export interface OwnedWorktree {
  readonly gitDir: string;
  readonly workTree: string;
}

/** `--git-dir` and `--work-tree`: git reads neither the worktree's `.git` nor anything it points to. */
export const worktreeArguments = (worktree: OwnedWorktree): string[] => [
  '--git-dir',
  worktree.gitDir,
  '--work-tree',
  worktree.workTree,
];

/** A worktree whose `.git` is not the one the gateway made: the gateway will not use it. */
export class ForeignWorktreeError extends Error {
  override readonly name = 'ForeignWorktreeError';
}

/**
 * The worktree as the gateway addresses it: with the git directory recorded when the gateway made
 * it; for a worktree recorded before that was kept, the one its `.git` file names, and only a file
 * (a folder there is a repository someone else made).
 */
export const ownedWorktree = async (workTree: string, recordedGitDir: string | undefined): Promise<OwnedWorktree> => {
  if (recordedGitDir !== undefined) return { gitDir: recordedGitDir, workTree };
  const dotGit = join(workTree, '.git');
  const stat = await lstat(dotGit).catch(() => undefined);
  const named = stat?.isFile() ? /^gitdir: (.+)$/m.exec(await readFile(dotGit, 'utf8'))?.[1] : undefined;
  if (named === undefined)
    throw new ForeignWorktreeError(
      `the worktree ${workTree} has no .git file of the gateway's (it was replaced or removed); the gateway will not run git in it`,
    );
  return { gitDir: resolve(workTree, named.trim()), workTree };
};
