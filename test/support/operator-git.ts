import { simpleGit, type SimpleGit } from 'simple-git';

/**
 * git as an operator (root) looks into a worktree the agent's user owns: git refuses a repository
 * someone else owns unless told it is safe (`safe.directory`, here for this command only).
 */
export const operatorGit = (dir: string): SimpleGit =>
  simpleGit({ baseDir: dir, unsafe: { allowUnsafeConfigEnvCount: true } }).env({
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'safe.directory',
    GIT_CONFIG_VALUE_0: '*',
  });
