import { simpleGit } from 'simple-git';

/**
 * Commits what the agent changed in a worktree but did not commit, so a deployment of the
 * builder branch ships the work a person just saw in Slack. Ignored files stay out (git's own
 * rules); hooks do not run (the repository's hooks are not the gateway's to run). Returns
 * whether there was anything to commit.
 */
export const snapshotWorktree = async (worktree: string, message: string): Promise<boolean> => {
  const git = simpleGit(worktree);
  if ((await git.status()).isClean()) return false;
  await git.add(['-A']);
  await git.raw([
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
