import { resolve } from 'node:path';
import { hardenedGit } from '../shared/git.js';
import { checkRepoUrl } from '../shared/repo-url-policy.js';
import { pushRepository, repoUrlPolicy, type CloneSettings } from './clone.js';

/** The repository a worktree belongs to (its common git directory), from the git directory the gateway made for it. */
export const commonGitDir = async (gitDir: string): Promise<string> =>
  resolve(gitDir, (await hardenedGit().raw(['--git-dir', gitDir, 'rev-parse', '--git-common-dir'])).trim());

/** The commit `branch` is at in the repository whose git directory is `gitDir`. */
export const branchTip = async (gitDir: string, branch: string): Promise<string> =>
  (
    await hardenedGit().raw([
      '--git-dir',
      gitDir,
      'rev-parse',
      '--verify',
      '--end-of-options',
      `refs/heads/${branch}^{commit}`,
    ])
  ).trim();

/**
 * Sets the remote's `branch` to `commit`, from the gateway's clone of `url`, as that clone is
 * fetched: the URL policy and DNS checked again (the answer may have changed since the clone),
 * the same transport pinning, credentials (`workspace.git_credentials`, only in git's
 * environment) and timeout. Throws RepoUrlRefusedError or PushFailedError, whose words carry no
 * credentials.
 */
export const pushBuilderBranch = async (
  url: string,
  target: { readonly gitDir: string; readonly commit: string; readonly branch: string },
  options: { readonly reposRoot: string; readonly clone: CloneSettings },
): Promise<void> => {
  const checked = await checkRepoUrl(url, repoUrlPolicy(options.reposRoot, options.clone));
  await pushRepository(checked, checked.addresses, target, options.clone);
};

/**
 * `workspace.compare_url` with the repo's name and the branch filled in (each part of the branch
 * escaped, its slashes kept: `builder/platform-billing`); null when no template is configured.
 */
export const compareUrlOf = (template: string, repo: string, branch: string): string | null =>
  template === ''
    ? null
    : template
        .replaceAll('{repo}', encodeURIComponent(repo))
        .replaceAll('{branch}', branch.split('/').map(encodeURIComponent).join('/'));
