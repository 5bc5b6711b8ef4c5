import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { prepareWorkspace, removeWorkspace, type RepoSpec } from '../../src/workspaces/git-workspace.js';

/**
 * The workspace manager's initialization killed (SIGKILL to its whole process group, git
 * included, as when a container dies) at moments spread over its whole run: running it again
 * must always converge to a healthy workspace, with clean worktrees on the builder branch and
 * no stale worktree, lock or half clone left in the repositories.
 *
 * WORKSPACE_CRASH_ROUNDS raises the number of kills (default 12).
 */
const ROUNDS = Number(process.env['WORKSPACE_CRASH_ROUNDS'] ?? 12);
const CHILD = join(process.cwd(), 'test', 'workspaces', 'prepare-child.ts');
const BUILDER = 'crash-lab';
const IDENTITY = ['-c', 'user.name=Test', '-c', 'user.email=test@example.com'];

const makeRepo = async (path: string, files: number): Promise<string> => {
  await simpleGit().raw(['init', '-q', '-b', 'main', path]);
  for (let i = 0; i < files; i++) {
    const folder = join(path, `src${i % 10}`);
    if (i < 10) await mkdir(folder, { recursive: true });
    await writeFile(join(folder, `file${i}.txt`), `line ${i}\n`.repeat(20));
  }
  await simpleGit(path).add('.');
  await simpleGit(path).raw([...IDENTITY, 'commit', '-q', '-m', 'init']);
  return (await simpleGit(path).revparse(['HEAD'])).trim();
};

/** Each process's parent, from /proc. */
const parentsOf = (): Map<number, number> => {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  return parents;
};

/**
 * SIGKILL to the child's process group and to the groups of every process it started: a clone
 * runs git in a group of its own (so its timeout stops git's children), and a container dying
 * takes those too. The child's group is stopped first, so it starts nothing while it is looked at.
 */
const killLikeAContainer = (pid: number): void => {
  process.kill(-pid, 'SIGSTOP');
  const parents = parentsOf();
  const descendants = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [candidate, parent] of parents) {
      if (descendants.has(parent) && !descendants.has(candidate)) {
        descendants.add(candidate);
        grew = true;
      }
    }
  }
  for (const member of descendants) {
    for (const target of [-member, member]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Not a group leader, or gone.
      }
    }
  }
};

/** Runs the initialization in its own process group; kills the group after `killAfterMs`, or lets it finish when undefined. */
const runChild = async (
  basePath: string,
  reposRoot: string,
  repos: readonly RepoSpec[],
  killAfterMs?: number,
): Promise<'finished' | 'killed'> => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, basePath, reposRoot, BUILDER, JSON.stringify(repos)],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => killLikeAContainer(child.pid!), killAfterMs);
  const [code, signal] = await exited;
  clearTimeout(timer);
  if (signal === 'SIGKILL') return 'killed';
  if (code !== 0) throw new Error(`initialization failed (${code}): ${stderr}`);
  return 'finished';
};

test('initialization killed at any moment converges when run again', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'workspace-crash-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const reposRoot = join(root, 'repos');
  const basePath = join(root, 'builders');
  const localBase = await makeRepo(join(reposRoot, 'api'), 600);
  const remoteBase = await makeRepo(join(reposRoot, 'remote', 'web'), 600);
  const repos: RepoSpec[] = [
    { name: 'api', url: null, ref: null },
    { name: 'web', url: `file://${join(reposRoot, 'remote', 'web')}`, ref: null },
  ];
  // A repository given by URL is cloned into a folder of its own identity.
  const clonedWeb = join(reposRoot, '_clones', '_local', 'remote', 'web.git');
  const sourceOf = (name: string): string => (name === 'web' ? clonedWeb : join(reposRoot, name));
  const reset = async () => {
    await removeWorkspace({ basePath, reposRoot, builder: BUILDER, repos: ['api', 'web'] });
    await rm(clonedWeb, { recursive: true, force: true });
    await simpleGit(join(reposRoot, 'api'))
      .raw(['branch', '-D', `builder/${BUILDER}`])
      .catch(() => undefined);
  };

  const started = performance.now();
  await runChild(basePath, reposRoot, repos);
  const fullRunMs = performance.now() - started;
  await reset();

  let killed = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Spread over the whole run, from the process's start-up to its last git call.
    const killAfter = Math.round((fullRunMs * (round + Math.random())) / ROUNDS);
    if ((await runChild(basePath, reposRoot, repos, killAfter)) === 'killed') killed++;
    const result = await prepareWorkspace({ basePath, reposRoot, builder: BUILDER, repos });
    t.deepEqual(
      result.repos.map((repo) => [repo.name, repo.branch, repo.base_commit]),
      [
        ['api', `builder/${BUILDER}`, localBase],
        ['web', `builder/${BUILDER}`, remoteBase],
      ],
      `round ${round}, killed after ${killAfter} ms`,
    );
    for (const repo of result.repos) {
      const worktree = simpleGit(repo.worktree_path);
      t.is(
        (await worktree.raw(['status', '--porcelain'])).trim(),
        '',
        `round ${round}: ${repo.name} is fully checked out and clean`,
      );
      t.is((await worktree.revparse(['HEAD'])).trim(), repo.base_commit);
      const listing = await simpleGit(sourceOf(repo.name)).raw(['worktree', 'list', '--porcelain']);
      t.false(/prunable|locked/.test(listing), `round ${round}: no stale worktree in ${repo.name}: ${listing}`);
      t.is(
        listing.split('\n').filter((line) => line.startsWith('worktree ')).length,
        2,
        `round ${round}: the clone and one worktree of ${repo.name}`,
      );
    }
    t.true(existsSync(join(clonedWeb, '.git')));
    await reset();
  }
  t.log(
    `full initialization ${fullRunMs.toFixed(0)} ms; ${killed} of ${ROUNDS} runs killed part-way, each converged on the next run`,
  );
});
