import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import { startFakeKube } from '../support/fake-kube.js';
import { caller } from '../support/gateway-client.js';
import { deployToEnd, labSession } from '../support/lab-session.js';
import { startTestGateway } from '../support/test-gateway.js';

/**
 * What an agent can plant with the shell it is given (issue 16): git configuration and hooks in
 * the clone its worktree comes from, and a repository of its own in place of the worktree's
 * `.git`. The gateway runs git there when it snapshots the agent's work for a deployment; nothing
 * planted may run as the gateway, and the work must still ship. And a symbolic link where the
 * gateway writes into the workspace.
 */

const OPERATOR = 'operator-token-0123456789';
const call = caller(OPERATOR);

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=Agent', '-c', 'user.email=agent@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

/** A program that, if git ever runs it, leaves a marker with the environment it was given. */
const plantProgram = async (t: ExecutionContext, name: string): Promise<{ program: string; marker: string }> => {
  const dir = await mkdtemp(join(tmpdir(), 'planted-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const marker = join(dir, `${name}.ran`);
  const program = join(dir, name);
  await writeFile(program, `#!/bin/sh\nenv > '${marker}'\nexit 0\n`);
  await chmod(program, 0o755);
  return { program, marker };
};

const setUp = async (t: ExecutionContext) => {
  const gateway = await startTestGateway(t, { tokens: `slack:operator:${OPERATOR}`, repos: ['api'] });
  const session = await labSession(call, gateway, 'billing');
  return { gateway, session, worktree: session.repos[0]!.worktree_path! };
};

const plan = async (gateway: Parameters<typeof call>[0], sessionId: string): Promise<DeploymentView> => {
  const response = await call(gateway, 'POST', '/api/deployments', { session_id: sessionId });
  if (response.status !== 202) throw new Error(`the plan answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as DeploymentView;
};

test('an fsmonitor, a post-commit hook and a hooks path planted in the clone do not run when the gateway snapshots the agent’s work', async (t) => {
  const { gateway, session, worktree } = await setUp(t);
  const commonDir = resolve(worktree, git(worktree, 'rev-parse', '--git-common-dir'));
  const fsmonitor = await plantProgram(t, 'fsmonitor');
  const hook = await plantProgram(t, 'post-commit');
  const pager = await plantProgram(t, 'pager');
  git(worktree, 'config', '--file', join(commonDir, 'config'), 'core.fsmonitor', fsmonitor.program);
  git(worktree, 'config', '--file', join(commonDir, 'config'), 'core.pager', pager.program);
  await mkdir(join(commonDir, 'hooks'), { recursive: true });
  await writeFile(join(commonDir, 'hooks', 'post-commit'), `#!/bin/sh\nexec '${hook.program}'\n`);
  await chmod(join(commonDir, 'hooks', 'post-commit'), 0o755);
  const hooksPath = await plantProgram(t, 'hooks-path');
  const hooksDir = await mkdtemp(join(tmpdir(), 'planted-hooks-'));
  t.teardown(() => rm(hooksDir, { recursive: true, force: true }));
  await writeFile(join(hooksDir, 'post-commit'), `#!/bin/sh\nexec '${hooksPath.program}'\n`);
  await chmod(join(hooksDir, 'post-commit'), 0o755);
  // The planted hooks path goes in the worktree's own configuration, which the agent can always write.
  git(worktree, 'config', 'extensions.worktreeConfig', 'true');
  git(worktree, 'config', '--worktree', 'core.hooksPath', hooksDir);
  await writeFile(join(worktree, 'CHANGELOG.md'), 'the agent’s work, not committed\n');

  const planned = await plan(gateway, session.session_id);
  for (const planted of [fsmonitor, hook, pager, hooksPath])
    t.false(existsSync(planted.marker), `${planted.program} ran as the gateway`);
  t.regex(git(worktree, 'log', '-1', '--format=%s'), /^Snapshot of the agent's work/);
  t.is(git(worktree, 'show', 'HEAD:CHANGELOG.md'), 'the agent’s work, not committed', 'the work ships');
  t.is(planned.status, 'awaiting_confirmation');
});

test('a repository of the agent’s own in place of the worktree’s .git is ignored: the gateway commits through the git directory it made', async (t) => {
  const { gateway, session, worktree } = await setUp(t);
  const gitDir = resolve(worktree, git(worktree, 'rev-parse', '--git-dir'));
  const branch = git(worktree, 'rev-parse', '--abbrev-ref', 'HEAD');
  const fsmonitor = await plantProgram(t, 'fsmonitor');
  const hook = await plantProgram(t, 'post-commit');
  // As reproduced in the issue: rm .git; git init -b <branch> .; commit; an fsmonitor of its own.
  await rm(join(worktree, '.git'), { force: true });
  git(worktree, 'init', '-q', '-b', branch, '.');
  git(worktree, 'add', '-A');
  git(worktree, 'commit', '-q', '-m', 'mine');
  git(worktree, 'config', 'core.fsmonitor', fsmonitor.program);
  await writeFile(join(worktree, '.git', 'hooks', 'post-commit'), `#!/bin/sh\nexec '${hook.program}'\n`);
  await chmod(join(worktree, '.git', 'hooks', 'post-commit'), 0o755);
  await writeFile(join(worktree, 'feature.js'), 'module.exports = 42;\n');

  const planned = await plan(gateway, session.session_id);
  for (const planted of [fsmonitor, hook]) t.false(existsSync(planted.marker), `${planted.program} ran as the gateway`);
  const owned = ['--git-dir', gitDir, '--work-tree', worktree];
  t.is(planned.status, 'awaiting_confirmation');
  t.is(git(worktree, ...owned, 'show', `${branch}:feature.js`), 'module.exports = 42;', 'the work ships');
  t.false(
    git(worktree, ...owned, 'ls-tree', '-r', '--name-only', branch)
      .split('\n')
      .some((path) => path.startsWith('.git/')),
    'the planted repository is not shipped',
  );
});

test('a symbolic link planted at the workspace’s .lab fails the deployment saying so, and nothing is written where it points', async (t) => {
  const fake = await startFakeKube();
  t.teardown(() => fake.close());
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    kubeconfig: fake.kubeconfig,
  });
  const session = await labSession(call, gateway, 'billing');
  const elsewhere = await mkdtemp(join(tmpdir(), 'elsewhere-'));
  t.teardown(() => rm(elsewhere, { recursive: true, force: true }));
  await symlink(elsewhere, join(session.workspace_path!, '.lab'));

  const ended = await deployToEnd(call, gateway, session.session_id);
  t.is(ended.status, 'failed');
  t.regex(ended.error ?? '', /\.lab is a symbolic link, not a folder of the gateway's/);
  t.deepEqual(await readdir(elsewhere), [], 'nothing was written through the link');
  t.deepEqual(fake.objects('Namespace'), [], 'nothing was applied either');
});

test('a clean filter planted in the clone’s configuration, with a .gitattributes that names it, is refused before git add: 409 saying so, nothing runs', async (t) => {
  const { gateway, session, worktree } = await setUp(t);
  const commonDir = resolve(worktree, git(worktree, 'rev-parse', '--git-common-dir'));
  const filter = await plantProgram(t, 'clean-filter');
  git(worktree, 'config', '--file', join(commonDir, 'config'), 'filter.steal.clean', filter.program);
  await writeFile(join(worktree, '.gitattributes'), '* filter=steal\n');
  await writeFile(join(worktree, 'CHANGELOG.md'), 'the agent’s work\n');
  const response = await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id });
  t.is(response.status, 409);
  t.regex(
    ((await response.json()) as { detail: string }).detail,
    /names programs for its files \(filter\.steal\.clean\)/,
  );
  t.false(existsSync(filter.marker), 'the filter never ran as the gateway');
});
