import { KeyedQueue } from '../events/keyed-queue.js';
import { hardenedGit, worktreeArguments, type OwnedWorktree } from '../shared/git.js';

/** A repository configuration that names a program git would run on `add` or `status`: planted, and refused. */
export class PlantedProgramError extends Error {
  override readonly name = 'PlantedProgramError';
}

/**
 * Drivers a `.gitattributes` (which the agent writes) can point at, and which run a program
 * named in a configuration file: a clean or smudge filter, a diff textconv or command, a merge
 * driver. Command-line configuration cannot disarm them without knowing their names, so the
 * gateway looks for any, in every configuration git reads for this worktree, before it runs
 * `status` or `add` there.
 */
const DRIVER_PROGRAMS = '^(filter|diff|merge)[.].+[.](clean|smudge|process|textconv|command|driver)$';

const refusePlantedPrograms = async (on: readonly string[]): Promise<void> => {
  const named = await hardenedGit()
    .raw([...on, 'config', '--get-regexp', DRIVER_PROGRAMS])
    .catch(() => ''); // exit code 1: none
  if (named.trim() !== '')
    throw new PlantedProgramError(
      `the repository's git configuration names programs for its files (${named
        .trim()
        .split('\n')
        .map((line) => line.split(' ')[0])
        .join(', ')}); the gateway runs no such program, so it will not snapshot this worktree`,
    );
};

/** Snapshots of one worktree (by its git directory), one at a time. */
const snapshots = new KeyedQueue();

/**
 * Commits what the agent changed in a worktree but did not commit, so a deployment of the
 * builder branch ships the work a person just saw in Slack. Ignored files stay out (git's own
 * rules). Git runs on the git directory the gateway made (never the worktree's `.git`, which the
 * agent may have replaced) with hooks, the file-system monitor and every program a repository's
 * configuration could name disarmed, and without the gateway's environment. Returns whether there
 * was anything to commit.
 */
export const snapshotWorktree = (worktree: OwnedWorktree, message: string): Promise<boolean> =>
  // A deployment's request and the push after a turn may snapshot one worktree at once: two commits would fight over its index lock.
  snapshots.run(worktree.gitDir, () => commitWorktree(worktree, message));

const commitWorktree = async (worktree: OwnedWorktree, message: string): Promise<boolean> => {
  const git = hardenedGit();
  const on = worktreeArguments(worktree);
  await refusePlantedPrograms(on);
  if ((await git.raw([...on, 'status', '--porcelain'])).trim() === '') return false;
  await git.raw([...on, 'add', '-A']);
  await git.raw([
    ...on,
    '-c',
    'user.name=AI Dev Gateway',
    '-c',
    'user.email=gateway@ai-dev-gateway.invalid',
    'commit',
    '-q',
    '--no-verify',
    '-m',
    message,
  ]);
  return true;
};
