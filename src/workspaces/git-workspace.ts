import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { handOver, type AgentUser } from '../shared/agent-user.js';
import { makeFolder } from '../files/make-folder.js';
import { refuseLinkedFolder } from '../files/planted-link.js';
import { hardenedGit, ownedWorktree } from '../shared/git.js';
import { KeyedQueue } from '../events/keyed-queue.js';
import {
  CloneFailedError,
  cloneRepository,
  DEFAULT_CLONE_SETTINGS,
  FetchFailedError,
  fetchRepository,
  repoUrlPolicy,
  type CloneSettings,
} from './clone.js';
import { checkBuilder, checkRef, checkRepoName, InvalidNameError } from './names.js';
import { RepoUrlRefusedError } from '../shared/repo-url.js';
import { withoutUrlCredentials } from '../shared/url-credentials.js';
import { checkRepoUrlForm, CLONES_FOLDER, resolveRepoUrlHost, type CheckedRepoUrl } from '../shared/repo-url-policy.js';

export interface RepoSpec {
  readonly name: string;
  /**
   * Cloned (once the URL policy allows it) into `<repos root>/_clones/<host>/<path>.git`, the
   * repository's own folder, when no clone is there yet, and fetched each time a workspace is
   * prepared from it; null: the pre-provisioned `<repos root>/<name>`, used as it is.
   */
  readonly url: string | null;
  /** Default: the source repository's HEAD (for a clone by URL, the remote's as just fetched). */
  readonly ref: string | null;
}

export interface PreparedRepo {
  readonly name: string;
  readonly worktree_path: string;
  readonly branch: string;
  readonly base_commit: string;
  /** The worktree's git directory in the gateway's clone, read when it was made (before any agent ran there). */
  readonly git_dir: string;
}

export class UnknownRepoError extends Error {
  override readonly name = 'UnknownRepoError';
  constructor(
    readonly repo: string,
    reposRoot: string,
  ) {
    super(`repo ${repo} is neither cloned under ${reposRoot} nor given a url`);
  }
}

/** A ref the repository does not have (a branch never pushed, a typo): no retry can make it. */
export class MissingRefError extends Error {
  override readonly name = 'MissingRefError';
  constructor(
    readonly repo: string,
    readonly ref: string,
  ) {
    super(
      ref === 'HEAD'
        ? `repo ${repo} has no commit yet (its HEAD names none)`
        : `ref ${ref} does not exist in repo ${repo}`,
    );
  }
}

/**
 * Asked for a ref the builder branch, kept from an earlier session of the project, does not start
 * from: the gateway neither moves a branch that may hold work nor ignores the ref.
 */
export class RefMismatchError extends Error {
  override readonly name = 'RefMismatchError';
  constructor(
    readonly repo: string,
    readonly ref: string,
    readonly commit: string,
    readonly branch: string,
    /** Where the branch meets the ref's commit; empty when they share no history. */
    readonly base: string,
  ) {
    const based = base === '' ? 'shares no history with it' : `is based on ${base}`;
    super(
      `repo ${repo}: ref ${ref} is at ${commit}, but the branch ${branch}, kept from an earlier session of this project, ${based}, ` +
        `so it does not start from ${ref}; the gateway does not move a branch that may hold work. ` +
        `To go on with that branch, open the session without a ref${base === '' ? '' : ` (or with ref ${base})`}; ` +
        `to start from ${ref}, have an operator delete ${branch} from the gateway's clone of ${repo} ` +
        `(closing the project's session with remove_workspace first), then open the session again.`,
    );
  }
}

/** The commit `ref` names in the repository `git` works in (or the one `gitDir` names); undefined when it names none. */
const resolveCommit = async (git: SimpleGit, ref: string, gitDir?: string): Promise<string | undefined> => {
  // --quiet: a ref that names nothing is an empty answer, not an error to parse.
  const commit = (
    await git.raw([
      ...(gitDir === undefined ? [] : ['--git-dir', gitDir]),
      'rev-parse',
      '--verify',
      '--quiet',
      '--end-of-options',
      `${ref}^{commit}`,
    ])
  ).trim();
  return commit === '' ? undefined : commit;
};

/** The commit `ref` names, or MissingRefError. */
const commitOf = async (git: SimpleGit, repo: string, ref: string, gitDir?: string): Promise<string> => {
  const commit = await resolveCommit(git, ref, gitDir);
  if (commit === undefined) throw new MissingRefError(repo, ref);
  return commit;
};

/**
 * The commit a session starts from. In a clone by URL the remote's branches as just fetched
 * (`refs/remotes/origin/*`, its HEAD too) come first: the clone's own branch of the same name is
 * the remote's as it was when cloned, and stale since. Tags and commit ids resolve as written.
 */
const startCommit = async (git: SimpleGit, repo: string, ref: string | null, fetched: boolean): Promise<string> => {
  const wanted = ref ?? 'HEAD';
  const remote = fetched
    ? await resolveCommit(git, `refs/remotes/origin/${wanted.replace(/^refs\/heads\//, '')}`)
    : undefined;
  return remote ?? (await commitOf(git, repo, wanted));
};

/**
 * Every name of a workspace request checked before it reaches git, a shell command line or the
 * file system: the builder (a folder and a branch part), each repo (listed once) and each ref.
 */
export const checkWorkspaceRequest = async (options: {
  readonly basePath: string;
  readonly builder: string;
  readonly repos: readonly RepoSpec[];
}): Promise<{ workspacePath: string; branch: string }> => {
  const workspacePath = join(options.basePath, checkBuilder(options.builder));
  const branch = await checkRef(`builder/${options.builder}`);
  const names = options.repos.map((repo) => checkRepoName(repo.name));
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) throw new InvalidNameError('repo', twice, 'listed once');
  for (const repo of options.repos) if (repo.ref !== null) await checkRef(repo.ref);
  return { workspacePath, branch };
};

/** A builder's workspace as asked for: where, which repositories, how to clone them, for whom. */
export interface WorkspaceRequest {
  readonly basePath: string;
  readonly reposRoot: string;
  readonly builder: string;
  readonly repos: readonly RepoSpec[];
  /** Default: the shipped configuration's policy, timeout and no credentials. */
  readonly clone?: CloneSettings | undefined;
  /** The agent's own user: each new worktree is handed to it before it is moved into place. */
  readonly agentUser?: AgentUser | undefined;
}

/**
 * Prepares `<basePath>/<builder>/repos/<repo>/` as git worktrees of the clones under
 * `reposRoot`, each on branch `builder/<builder>`. Converges after a crash at any point: a clone
 * and a worktree are built under a `.partial` name and only renamed into place when whole, so
 * what sits at the final path is complete, and leftovers of an interrupted run are cleared
 * before trying again. A worktree already there is kept as it is (it may hold a person's work).
 */
export const prepareWorkspace = async (
  options: WorkspaceRequest,
): Promise<{ workspacePath: string; repos: PreparedRepo[] }> => {
  const { workspacePath, branch } = await checkWorkspaceRequest(options);
  const clone = options.clone ?? DEFAULT_CLONE_SETTINGS;
  // A new workspace stays the gateway's alone (0700) until it is whole and handed to the agent.
  await makeFolder(workspacePath, options.agentUser ? 0o700 : 0o777);
  await mkdir(join(workspacePath, 'repos'), { recursive: true });
  const staging = { folder: join(options.basePath, STAGING_FOLDER, options.builder), user: options.agentUser };
  // Each repository is its own clone and worktree: they are prepared side by side.
  const prepared = await Promise.all(
    options.repos.map(async (repo) => {
      const name = repo.name;
      try {
        const source = await ensureClone(options.reposRoot, repo, clone);
        const start = await startCommit(hardenedGit(source), name, repo.ref, repo.url !== null);
        const worktreePath = join(workspacePath, 'repos', name);
        // Never beside a fetch of the same clone: a worktree being added has a placeholder HEAD that fails the fetch.
        await cloneWork.run(source, () =>
          ensureWorktree(source, worktreePath, { branch, repo: name, ref: repo.ref, start, staging }),
        );
        // Described against the commit resolved above, so base_commit is where the branch meets it.
        return await describeWorktree(name, worktreePath, start, source);
      } catch (error) {
        throw namingRepo(name, error);
      }
    }),
  );
  return { workspacePath, repos: prepared };
};

/** The gateway's own errors name the repo already; git's and the file system's get it in front, so a person knows which repo failed. */
const namingRepo = (repo: string, error: unknown): unknown => {
  if (
    error instanceof MissingRefError ||
    error instanceof UnknownRepoError ||
    error instanceof MissingWorktreeError ||
    error instanceof CloneFailedError ||
    error instanceof FetchFailedError ||
    error instanceof RefMismatchError ||
    error instanceof RepoUrlRefusedError ||
    error instanceof InvalidNameError
  )
    return error;
  return new Error(`repo ${repo}: ${error instanceof Error ? error.message.trim() : String(error)}`, { cause: error });
};

export class MissingWorktreeError extends Error {
  override readonly name = 'MissingWorktreeError';
  constructor(
    readonly repo: string,
    worktreePath: string,
  ) {
    super(`repo ${repo} has no worktree at ${worktreePath}`);
  }
}

/**
 * What WorkspaceInitialized records of a worktree, whoever made it: its branch, and the commit
 * it started from (where it meets `ref`, or the repository's HEAD, in the repository it belongs to).
 */
export const describeWorktree = async (
  name: string,
  worktreePath: string,
  ref: string | null,
  /** The repository the gateway made it from, which names its git directory; unknown when the Taskfile made it. */
  source?: string,
): Promise<PreparedRepo> => {
  if (!existsSync(join(worktreePath, '.git'))) throw new MissingWorktreeError(name, worktreePath);
  const ownDir =
    source === undefined
      ? (await ownedWorktree(worktreePath, undefined)).gitDir
      : await recordedGitDir(await commonDirOfRepository(source), worktreePath);
  if (ownDir === undefined) throw new MissingWorktreeError(name, worktreePath);
  // Addressed by its git directory, never found from inside the worktree: the agent may own it.
  const [commonDir, head, branch] = (
    await hardenedGit().raw(['--git-dir', ownDir, 'rev-parse', '--git-common-dir', 'HEAD', '--abbrev-ref', 'HEAD'])
  )
    .trim()
    .split('\n');
  const gitDir = resolve(process.cwd(), commonDir!);
  const start = await commitOf(hardenedGit(), name, ref === null ? 'HEAD' : await checkRef(ref), gitDir);
  const base = await hardenedGit().raw(['--git-dir', gitDir, 'merge-base', head!, start]);
  return {
    name,
    worktree_path: worktreePath,
    branch: branch!,
    base_commit: base.trim(),
    git_dir: ownDir,
  };
};

/** Where new worktrees are built, beside the workspaces: the gateway's alone, out of the agent's reach. */
const STAGING_FOLDER = '.partial';

const commonDirOfRepository = async (source: string): Promise<string> =>
  resolve(source, (await hardenedGit(source).raw(['rev-parse', '--git-common-dir'])).trim());

/** The git directory the repository keeps for the worktree at `worktreePath` (its record, not the worktree's word). */
const recordedGitDir = async (commonDir: string, worktreePath: string): Promise<string | undefined> => {
  const records = join(commonDir, 'worktrees');
  for (const entry of await readdir(records).catch(() => [] as string[])) {
    const gitdir = (await readFile(join(records, entry, 'gitdir'), 'utf8').catch(() => '')).trim();
    if (gitdir === join(worktreePath, '.git')) return join(records, entry);
  }
  return undefined;
};

const isRepository = (path: string): boolean => existsSync(join(path, '.git')) || existsSync(join(path, 'HEAD'));

/**
 * Clones and fetches of one clone, one at a time: sessions of two projects naming the same
 * repository may be prepared at once, and two gits updating the same refs fail each other.
 */
const cloneWork = new KeyedQueue();

/**
 * The repository a worktree is made from. Without a url, the pre-provisioned `<repos root>/<name>`.
 * With one, the clone of that repository itself (keyed by its normalised URL, so two projects
 * that both call different repositories `api` never share one): cloned when absent, fetched when
 * present, each time after the URL policy is checked again (DNS may have changed since the request).
 */
const ensureClone = async (reposRoot: string, repo: RepoSpec, settings: CloneSettings): Promise<string> => {
  if (repo.url === null) {
    const provisioned = join(reposRoot, repo.name);
    if (isRepository(provisioned)) return provisioned;
    throw new UnknownRepoError(repo.name, reposRoot);
  }
  const of = `repo ${repo.name} (${withoutUrlCredentials(repo.url)})`;
  const policy = repoUrlPolicy(reposRoot, settings);
  try {
    const checked = await checkRepoUrlForm(repo.url, policy);
    const parts = [...checked.identity];
    const last = `${parts.pop()!}.git`;
    const source = join(reposRoot, CLONES_FOLDER, ...parts, last);
    await cloneWork.run(source, async () => {
      const addresses = await resolveRepoUrlHost(checked, policy);
      if (isRepository(source)) await refreshClone(checked, addresses, source, settings);
      else await cloneInto(checked, addresses, source, settings, reposRoot);
    });
    return source;
  } catch (error) {
    if (error instanceof RepoUrlRefusedError) throw new RepoUrlRefusedError(error.reason, of);
    // Git's words name the URL; the person also needs to know which of the session's repos it is.
    if (error instanceof CloneFailedError)
      throw new CloneFailedError(`repo ${repo.name}: ${error.message}`, error.output);
    if (error instanceof FetchFailedError)
      throw new FetchFailedError(`repo ${repo.name}: ${error.message}`, error.output);
    throw error;
  }
};

/** Clones into a `.partial` folder beside `source`, renamed to `source` only when whole. */
const cloneInto = async (
  checked: CheckedRepoUrl,
  addresses: readonly string[],
  source: string,
  settings: CloneSettings,
  reposRoot: string,
): Promise<void> => {
  const partial = join(dirname(source), `.${basename(source)}.partial`);
  await rm(partial, { recursive: true, force: true });
  await mkdir(dirname(source), { recursive: true });
  try {
    await cloneRepository(checked, addresses, partial, settings, reposRoot);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
  await rm(source, { recursive: true, force: true }); // an empty folder, or one a crash left half made
  await rename(partial, source);
};

/**
 * Brings a clone up to date with its remote, so a session starts from what the remote has now.
 * Only the gateway's fetch writes the remote's branches and the tags of its clones, one at a
 * time (cloneWork): a lock there is a leftover of a fetch a crash cut short, which would
 * otherwise fail every later fetch of the clone.
 */
const refreshClone = async (
  checked: CheckedRepoUrl,
  addresses: readonly string[],
  source: string,
  settings: CloneSettings,
): Promise<void> => {
  const gitDir = await commonDirOfRepository(source);
  await clearHalfAddedWorktrees(gitDir);
  for (const refs of [join(gitDir, 'refs', 'remotes', 'origin'), join(gitDir, 'refs', 'tags')]) {
    const entries = await readdir(refs, { recursive: true }).catch(() => [] as string[]);
    for (const entry of entries.filter((name) => name.endsWith('.lock'))) await rm(join(refs, entry), { force: true });
  }
  await fetchRepository(checked, addresses, gitDir, settings);
};

/**
 * `git worktree add` first records the new worktree with a HEAD of zeros, then points it at its
 * branch. Killed in between, the record stays, and every later fetch into the clone fails on it
 * ("bad object worktrees/<name>/HEAD"). Only a crash leaves one: adds and fetches of a clone
 * take turns (cloneWork). Such a worktree holds nothing yet: its record goes (as `prune` would
 * drop it); its folder, in the staging area, goes when its builder's workspace is prepared again.
 */
const clearHalfAddedWorktrees = async (commonDir: string): Promise<void> => {
  const records = join(commonDir, 'worktrees');
  for (const entry of await readdir(records).catch(() => [] as string[])) {
    const head = (await readFile(join(records, entry, 'HEAD'), 'utf8').catch(() => '')).trim();
    if (!/^0+$/.test(head)) continue;
    await rm(join(records, entry), { recursive: true, force: true });
  }
};

/**
 * The worktree at `worktreePath` on `branch` (made from `start`, the commit `ref` names, when
 * new). Built at a `.partial` path and moved into place with `git worktree move`; `git worktree
 * repair` mends a move a crash cut between renaming the folder and updating git's record of it.
 */
const ensureWorktree = async (
  source: string,
  worktreePath: string,
  target: {
    readonly branch: string;
    readonly repo: string;
    readonly ref: string | null;
    readonly start: string;
    readonly staging: { readonly folder: string; readonly user: AgentUser | undefined };
  },
): Promise<void> => {
  const { branch, staging } = target;
  const git = hardenedGit(source);
  const commonDir = await commonDirOfRepository(source);
  await requireStartOfBranch(git, target);
  if (existsSync(join(worktreePath, '.git'))) {
    // Only when the repository lost track of it (a crash in the move): repair writes into the worktree.
    if ((await recordedGitDir(commonDir, worktreePath)) === undefined)
      await git.raw(['worktree', 'repair', worktreePath]);
    return;
  }
  await makeFolder(dirname(staging.folder), 0o700);
  await makeFolder(staging.folder, 0o700);
  const partial = join(staging.folder, basename(worktreePath));
  if (existsSync(partial) || (await hasLeftovers(commonDir, partial))) {
    // A worktree cut short is still locked as "initializing", and may lack its .git file, which
    // `remove` needs: unlocked, its folder deleted, `prune` forgets it.
    await git.raw(['worktree', 'unlock', partial]).catch(() => undefined);
    await git.raw(['worktree', 'remove', '--force', partial]).catch(() => undefined);
    await rm(partial, { recursive: true, force: true });
    await git.raw(['worktree', 'prune']);
  }
  // Only the gateway writes `builder/*` branches, one session per builder at a time: a lock on one is a crash's leftover.
  await rm(join(commonDir, 'refs', 'heads', `${branch}.lock`), { force: true });
  const branches = await git.branchLocal();
  await git.raw(
    branches.all.includes(branch)
      ? ['worktree', 'add', partial, branch]
      : ['worktree', 'add', '-b', branch, partial, target.start],
  );
  if (staging.user) await handOver(partial, staging.user);
  await rm(worktreePath, { recursive: true, force: true }); // an empty folder at most: it has no .git
  // The workspace may be the agent's already: a link planted on the way would move the worktree elsewhere.
  await refuseLinkedFolder(dirname(worktreePath));
  await refuseLinkedFolder(dirname(dirname(worktreePath)));
  await git.raw(['worktree', 'move', partial, worktreePath]);
};

/**
 * A builder branch kept from an earlier session is reused (it may hold work), so a `ref` asked
 * for must be where it starts: its commit the branch's base, where the two meet (what
 * `base_commit` reports). Checked before a worktree is added, so a refused session leaves
 * nothing behind. Without a ref the branch goes on from wherever it started.
 */
const requireStartOfBranch = async (
  git: SimpleGit,
  target: { readonly branch: string; readonly repo: string; readonly ref: string | null; readonly start: string },
): Promise<void> => {
  if (target.ref === null) return;
  const tip = await resolveCommit(git, `refs/heads/${target.branch}`);
  if (tip === undefined) return;
  // No common history is an empty answer, not an error.
  const base = (await git.raw(['merge-base', tip, target.start])).trim();
  if (base !== target.start) throw new RefMismatchError(target.repo, target.ref, target.start, target.branch, base);
};

/** Whether git records a worktree at `partial`, or one whose folder is gone (which `prune` clears). */
const hasLeftovers = async (commonDir: string, partial: string): Promise<boolean> => {
  const entries = await readdir(join(commonDir, 'worktrees')).catch(() => [] as string[]);
  for (const entry of entries) {
    const gitdir = (await readFile(join(commonDir, 'worktrees', entry, 'gitdir'), 'utf8').catch(() => '')).trim();
    if (gitdir === '' || gitdir.startsWith(partial) || !existsSync(gitdir)) return true;
  }
  return false;
};

/** Removes the worktrees (`git worktree remove` + prune, in the repository each belongs to) and the workspace folder. */
export const removeWorkspace = async (options: {
  readonly basePath: string;
  readonly reposRoot: string;
  readonly builder: string;
  readonly repos: readonly string[];
}): Promise<void> => {
  const workspacePath = join(options.basePath, checkBuilder(options.builder));
  for (const repo of options.repos) {
    const name = checkRepoName(repo);
    const worktreePath = join(workspacePath, 'repos', name);
    // The worktree knows its repository (a clone by URL or the pre-provisioned one); the name alone does not tell.
    const commonDir = existsSync(join(worktreePath, '.git')) ? await commonDirOf(worktreePath) : undefined;
    if (commonDir !== undefined) {
      await hardenedGit().raw(['--git-dir', commonDir, 'worktree', 'remove', '--force', worktreePath]);
      await hardenedGit().raw(['--git-dir', commonDir, 'worktree', 'prune']);
      continue;
    }
    const source = join(options.reposRoot, name);
    if (existsSync(source)) await hardenedGit(source).raw(['worktree', 'prune']);
  }
  await rm(workspacePath, { recursive: true, force: true });
};

/** The repository a worktree belongs to (its common git folder); undefined when it is not a working worktree any more. */
const commonDirOf = async (worktreePath: string): Promise<string | undefined> => {
  try {
    const { gitDir } = await ownedWorktree(worktreePath, undefined);
    return resolve(
      process.cwd(),
      (await hardenedGit().raw(['--git-dir', gitDir, 'rev-parse', '--git-common-dir'])).trim(),
    );
  } catch {
    return undefined;
  }
};
