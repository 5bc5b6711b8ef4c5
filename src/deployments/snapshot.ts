import { hardenedGit, worktreeArguments, type OwnedWorktree } from '../shared/git.js';

/**
 * Commits what the agent changed in a worktree but did not commit, so a deployment of the
 * builder branch ships the work a person just saw in Slack. Ignored files stay out (git's own
 * rules). Git runs on the git directory the gateway made (never the worktree's `.git`, which the
 * agent may have replaced) with hooks, the file-system monitor and every program a repository's
 * configuration could name disarmed, and without the gateway's environment. Returns whether there
 * was anything to commit.
 */
export const snapshotWorktree = async (worktree: OwnedWorktree, message: string): Promise<boolean> => {
  const git = hardenedGit();
  const on = worktreeArguments(worktree);
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
