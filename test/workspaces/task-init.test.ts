import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { stringify } from 'yaml';
import type { StoredEvent } from '../../src/events/stored-event.js';
import { sessionEventDefinitions } from '../../src/sessions/events.js';
import { initializeWorkspace } from '../../src/workspaces/initialize.js';
import { TaskInitError, type TaskInitOptions } from '../../src/workspaces/task-init.js';
import { workspaceEffects } from '../../src/workspaces/workspace-manager-process.js';
import type { SessionCommand } from '../../src/sessions/decider.js';
import { eventually } from '../support/eventually.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { startTestGateway } from '../support/test-gateway.js';
import { openTestEventLog } from '../support/test-store.js';

/** The go-task stand-in (see the file): real processes, real argument passing, a real Taskfile. */
const TASK = join(process.cwd(), 'test', 'workspaces', 'fixtures', 'task.mjs');

const makeRepo = async (path: string): Promise<string> => {
  await simpleGit().raw(['init', '-q', '-b', 'main', path]);
  await writeFile(join(path, 'README.md'), 'hello\n');
  await simpleGit(path).add('.');
  await simpleGit(path).raw(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init']);
  return (await simpleGit(path).revparse(['HEAD'])).trim();
};

const setUp = async (
  t: ExecutionContext,
  cmds: readonly string[],
  mode: TaskInitOptions['mode'] = 'after_native',
  timeoutMs = 30_000,
) => {
  const root = await mkdtemp(join(tmpdir(), 'task-init-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const reposRoot = join(root, 'repos');
  const api = await makeRepo(join(reposRoot, 'api'));
  const web = await makeRepo(join(reposRoot, 'web'));
  const taskfile = join(root, 'Taskfile.yaml');
  await writeFile(taskfile, stringify({ version: '3', tasks: { 'builder:init': { cmds } } }));
  const task: TaskInitOptions = { cli: TASK, taskfile, mode, timeoutMs };
  const repos = [
    { name: 'api', url: null, ref: null },
    { name: 'web', url: null, ref: null },
  ];
  return { root, reposRoot, basePath: join(root, 'builders'), task, repos, api, web };
};

test('after the native worktrees, task builder:init runs with BUILDER_NAME and REPOS as arguments, in the workspace, without the gateway secrets', async (t) => {
  process.env['GATEWAY_WEBHOOK_SECRET'] = 'must-not-leak';
  const { basePath, reposRoot, task, repos, api } = await setUp(t, [
    'echo "{{.BUILDER_NAME}} {{.REPOS}} ${GATEWAY_WEBHOOK_SECRET:-no-secret}" > "{{.USER_WORKING_DIR}}/init.txt"',
  ]);
  const result = await initializeWorkspace({ basePath, reposRoot, builder: 'platform-billing', repos, task });
  t.is(await readFile(join(basePath, 'platform-billing', 'init.txt'), 'utf8'), 'platform-billing api,web no-secret\n');
  t.like(result.repos[0], { name: 'api', branch: 'builder/platform-billing', base_commit: api });
  t.is(
    await readFile(join(result.repos[1]!.worktree_path, 'README.md'), 'utf8'),
    'hello\n',
    'the native worktrees are there too',
  );
});

test('instead of the native path, the Taskfile makes the worktrees and the result describes them', async (t) => {
  const { basePath, reposRoot, task, repos, api, web } = await setUp(
    t,
    [
      `for repo in $(echo "{{.REPOS}}" | tr , ' '); do git -C "${'$'}REPOS_ROOT/$repo" worktree add -q -b "builder/{{.BUILDER_NAME}}" "{{.USER_WORKING_DIR}}/repos/$repo"; done`,
    ],
    'instead_of_native',
  );
  await writeFile(task.taskfile, (await readFile(task.taskfile, 'utf8')).replace('$REPOS_ROOT', reposRoot));
  const result = await initializeWorkspace({ basePath, reposRoot, builder: 'platform-billing', repos, task });
  t.deepEqual(result, {
    workspacePath: join(basePath, 'platform-billing'),
    repos: [
      {
        name: 'api',
        worktree_path: join(basePath, 'platform-billing', 'repos', 'api'),
        branch: 'builder/platform-billing',
        base_commit: api,
        git_dir: join(reposRoot, 'api', '.git', 'worktrees', 'api'),
      },
      {
        name: 'web',
        worktree_path: join(basePath, 'platform-billing', 'repos', 'web'),
        branch: 'builder/platform-billing',
        base_commit: web,
        git_dir: join(reposRoot, 'web', '.git', 'worktrees', 'web'),
      },
    ],
  });
});

test('a Taskfile that makes no worktree for a repo is a failure naming the repo', async (t) => {
  const { basePath, reposRoot, task, repos } = await setUp(t, ['true'], 'instead_of_native');
  await t.throwsAsync(() => initializeWorkspace({ basePath, reposRoot, builder: 'platform-billing', repos, task }), {
    message: /repo api has no worktree at .*platform-billing\/repos\/api/,
  });
});

test('a failing, a hanging and a missing task are failures with the reason and the output', async (t) => {
  const failing = await setUp(t, ['echo "npm ERR! could not resolve dependency"', 'exit 3']);
  const error = await t.throwsAsync(() => initializeWorkspace({ ...failing, builder: 'platform-billing' }), {
    instanceOf: TaskInitError,
  });
  t.is(error?.message, 'task builder:init failed with exit code 201');
  t.regex(
    (error as TaskInitError).output,
    /npm ERR! could not resolve dependency[\s\S]*Failed to run task "builder:init": exit status 3/,
  );

  // Long enough for go-task to start and print on a loaded machine; the task itself never ends.
  const hanging = await setUp(t, ['echo started', 'sleep 30'], 'after_native', 1500);
  const timedOut = await t.throwsAsync(() => initializeWorkspace({ ...hanging, builder: 'platform-billing' }), {
    instanceOf: TaskInitError,
  });
  t.is(timedOut?.message, 'task builder:init did not finish within 1.5 s');
  t.regex((timedOut as TaskInitError).output, /started/);

  const missing = await setUp(t, ['true']);
  const notFound = await t.throwsAsync(
    () =>
      initializeWorkspace({
        ...missing,
        builder: 'platform-billing',
        task: { ...missing.task, cli: join(missing.root, 'no-such-task') },
      }),
    {
      instanceOf: TaskInitError,
    },
  );
  t.regex(notFound?.message ?? '', /task binary .*no-such-task was not found/);
});

test('without a task binary, or without the Taskfile, only the native path runs', async (t) => {
  const { basePath, reposRoot, task, repos } = await setUp(t, ['touch "{{.USER_WORKING_DIR}}/ran"']);
  await initializeWorkspace({ basePath, reposRoot, builder: 'platform-billing', repos, task: { ...task, cli: '' } });
  await initializeWorkspace({
    basePath,
    reposRoot,
    builder: 'platform-billing',
    repos,
    task: { ...task, taskfile: join(basePath, 'absent.yaml') },
  });
  t.false(existsSync(join(basePath, 'platform-billing', 'ran')));
  t.true(existsSync(join(basePath, 'platform-billing', 'repos', 'api', 'README.md')));
});

test('names are checked before they reach the task command line', async (t) => {
  const { basePath, reposRoot, task } = await setUp(t, ['touch "{{.USER_WORKING_DIR}}/ran"'], 'instead_of_native');
  await t.throwsAsync(
    () =>
      initializeWorkspace({
        basePath,
        reposRoot,
        builder: 'platform-billing',
        repos: [{ name: 'a;rm -rf /', url: null, ref: null }],
        task,
      }),
    { message: /repo "a;rm -rf \/" is not/ },
  );
  await t.throwsAsync(
    () =>
      initializeWorkspace({
        basePath,
        reposRoot,
        builder: 'platform-billing',
        repos: [{ name: 'api', url: null, ref: '--exec=x' }],
        task,
      }),
    { message: /ref "--exec=x"/ },
  );
  t.false(existsSync(join(basePath, 'platform-billing', 'ran')));
});

test('the workspace manager fails the session at once for a failed task, carrying its output', async (t) => {
  const { basePath, reposRoot, task, repos } = await setUp(t, ['echo "cannot install toolchain" >&2', 'exit 1']);
  const { eventLog } = await openTestEventLog(t, sessionEventDefinitions);
  const effects = workspaceEffects({
    basePath,
    reposRoot,
    eventLog,
    task,
    clock: () => new Date('2030-01-01T00:00:00.000Z'),
  });
  const cause = {
    id: 'e',
    stream: 'session-s',
    revision: 0,
    position: 0,
    event: { type: 'SessionCreated', data: {} },
    metadata: {},
  } as unknown as StoredEvent;
  const { command } = (await effects['prepare-workspace'](
    { kind: 'prepare-workspace', builder: 'platform-billing', repos },
    { signal: new AbortController().signal, key: 'k', attempt: 1, cause },
  )) as { command: SessionCommand };
  t.like(command, {
    type: 'RecordWorkspaceFailed',
    reason: 'task builder:init failed with exit code 201',
    now: new Date('2030-01-01T00:00:00.000Z'),
  });
  t.regex((command as { output: string }).output, /cannot install toolchain/);
});

test('through the gateway: a session whose task builder:init fails ends failed, and its builder is free again', async (t) => {
  const setup = await setUp(t, ['exit 4']);
  const gateway = await startTestGateway(t, {
    tokens: 'ops:operator:operator-token-0123456789',
    repos: ['api'],
    workspace: { task_cli: TASK, taskfile_path: setup.task.taskfile, task_init: 'after_native' },
  });
  const call = caller('operator-token-0123456789');
  const body = {
    category: 'platform',
    project: 'billing',
    repos: [{ name: 'api' }],
    task: { title: 'Fix the typo in the README', description: 'One word.' },
  };
  const created = (await (await call(gateway, 'POST', '/api/sessions', body)).json()) as { session_id: string };
  const failed = await waitForSessionStatus<{ status: string; error: string | null }>(
    call,
    gateway,
    created.session_id,
    'failed',
  );
  t.regex(
    failed.error ?? '',
    /^The workspace could not be prepared: task builder:init failed with exit code \d+$/,
    'the view says why',
  );
  // The builder is released by its own process manager, just after the failure.
  await eventually(
    async () => ((await call(gateway, 'POST', '/api/sessions', body)).status === 202 ? true : undefined),
    'a new session for the project accepted',
  );
});
