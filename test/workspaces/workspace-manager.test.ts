import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import type { StoredEvent } from '../../src/events/stored-event.js';
import { sessionDecider, type SessionCommand } from '../../src/sessions/decider.js';
import { sessionEventDefinitions } from '../../src/sessions/events.js';
import { workspaceEffects, workspaceManager } from '../../src/workspaces/workspace-manager-process.js';
import { openTestEventLog } from '../support/test-store.js';

const stored = (stream: string, event: StoredEvent['event']): StoredEvent => ({
  id: 'e-1',
  stream,
  revision: 0,
  position: 0,
  event,
  metadata: {
    actor: 'slack',
    correlation_id: 'c',
    causation_id: 'r',
    recorded_at: '2030-01-01T00:00:00.000Z',
    hash: 'h',
  },
});

const created = {
  type: 'SessionCreated',
  data: {
    session_id: 's-1',
    category: 'platform',
    project: 'billing',
    repos: [{ name: 'api', url: null, ref: null }],
    task: { title: 't', description: '' },
    requested_by: null,
    created_at: 'x',
  },
};

test('given SessionCreated, the manager asks for the workspace of <category>-<project>, keyed to the event, its outcome a command for the session', (t) => {
  t.deepEqual(workspaceManager.react(stored('session-s-1', created)), [
    {
      type: 'effect',
      key: 'e-1:prepare',
      stream: 'session-s-1',
      decider: sessionDecider,
      effect: {
        kind: 'prepare-workspace',
        builder: 'platform-billing',
        repos: [{ name: 'api', url: null, ref: null }],
      },
    },
  ]);
  t.deepEqual(
    workspaceManager.react(
      stored('session-s-1', {
        type: 'SessionClosed',
        data: { builder: 'platform-billing', repos: ['api'], reason: null, remove_workspace: true, closed_at: 'x' },
      }),
    ),
    [
      {
        type: 'effect',
        key: 'e-1:remove',
        stream: 'session-s-1',
        decider: sessionDecider,
        effect: { kind: 'remove-workspace', builder: 'platform-billing', repos: ['api'] },
      },
    ],
  );
  t.deepEqual(workspaceManager.react(stored('session-s-1', { type: 'SessionPaused', data: { paused_at: 'x' } })), [
    {
      type: 'effect',
      key: 'e-1:state-file',
      stream: 'session-s-1',
      effect: { kind: 'write-session-state', sessionId: 's-1' },
      rerunnable: true,
    },
  ]);
  t.deepEqual(
    workspaceManager.react(
      stored('session-s-1', { type: 'WorkspaceRemoved', data: { workspace_path: '/w', removed_at: 'x' } }),
    ),
    [],
  );
  t.deepEqual(workspaceManager.react(stored('other-1', created)), [], 'only session streams');
});

const makeSource = async (root: string): Promise<string> => {
  const source = join(root, 'repos', 'api');
  await simpleGit().raw(['init', '-q', '-b', 'main', source]);
  await writeFile(join(source, 'a.txt'), 'a\n');
  await simpleGit(source).add('.');
  await simpleGit(source).raw(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init']);
  return source;
};

const commandOf = (outcome: unknown): SessionCommand => (outcome as { command: SessionCommand }).command;
const NOW = new Date('2030-01-01T00:00:00.000Z');

test('the effect answers RecordWorkspaceInitialized for real repositories, and RecordWorkspaceFailed at once for what no retry can fix', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'workspace-pm-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await makeSource(root);
  const { eventLog } = await openTestEventLog(t, sessionEventDefinitions);
  const effects = workspaceEffects({
    basePath: join(root, 'builders'),
    reposRoot: join(root, 'repos'),
    eventLog,
    clock: () => NOW,
  });
  const context = { signal: new AbortController().signal, key: 'k', attempt: 1, cause: stored('session-s-1', created) };
  const prepare = async (
    repos: { name: string; url: string | null; ref: string | null }[],
    builder = 'platform-billing',
  ) => commandOf(await effects['prepare-workspace']({ kind: 'prepare-workspace', builder, repos }, context));
  t.like(await prepare([{ name: 'api', url: null, ref: null }]), {
    type: 'RecordWorkspaceInitialized',
    workspacePath: join(root, 'builders', 'platform-billing'),
    now: NOW,
  });
  t.regex(
    await readFile(join(root, 'builders', 'platform-billing', 'arch-decisions.md'), 'utf8'),
    /^# Architecture decisions — platform-billing/,
  );
  t.like(await prepare([{ name: 'ghost', url: null, ref: null }]), { type: 'RecordWorkspaceFailed', output: null });
  t.regex(
    ((await prepare([{ name: 'ghost', url: null, ref: null }])) as { reason: string }).reason,
    /repo ghost is neither cloned/,
  );
  t.deepEqual(await prepare([{ name: 'api', url: null, ref: 'develop' }], 'platform-ledger'), {
    type: 'RecordWorkspaceFailed',
    reason: 'ref develop does not exist in repo api',
    output: null,
    now: NOW,
  });
  t.like(await prepare([], '../escape'), {
    type: 'RecordWorkspaceFailed',
    reason: 'builder "../escape" is not a <category>-<project> name',
  });
});

test('a failure not known to be permanent (here a file in the way of the builder branch’s ref) is thrown for the runner to retry, and on the last try fails the session with the last reason', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'workspace-pm-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const source = await makeSource(root);
  // Neither the gateway nor git can lock refs/heads/builder/<builder> while a file stands where its folder goes.
  const inTheWay = join(source, '.git', 'refs', 'heads', 'builder');
  await writeFile(inTheWay, '');
  const { eventLog } = await openTestEventLog(t, sessionEventDefinitions);
  const effects = workspaceEffects({
    basePath: join(root, 'builders'),
    reposRoot: join(root, 'repos'),
    eventLog,
    attempts: 3,
    clock: () => NOW,
  });
  const request = {
    kind: 'prepare-workspace',
    builder: 'platform-billing',
    repos: [{ name: 'api', url: null, ref: null }],
  } as const;
  const tryNumber = (attempt: number) =>
    effects['prepare-workspace'](request, {
      signal: new AbortController().signal,
      key: 'k',
      attempt,
      cause: stored('session-s-1', created),
    });
  await t.throwsAsync(
    tryNumber(1),
    { message: /^repo api: .*refs\/heads\/builder/s },
    'not the last try: the runner tries again',
  );
  const last = commandOf(await tryNumber(3));
  t.is(last.type, 'RecordWorkspaceFailed');
  t.regex((last as { reason: string }).reason, /^repo api: .*refs\/heads\/builder.*\(tried 3 times\)$/s);
  await rm(inTheWay);
  t.like(
    commandOf(await tryNumber(2)),
    { type: 'RecordWorkspaceInitialized' },
    'once the lock is gone, a retry makes the workspace',
  );
});

test('the state file is written as of the session’s last event: a rewrite for an older event, which a later one’s would overwrite, is skipped', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'workspace-pm-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const { eventLog } = await openTestEventLog(t, sessionEventDefinitions);
  const effects = workspaceEffects({
    basePath: join(root, 'builders'),
    reposRoot: join(root, 'repos'),
    eventLog,
    clock: () => NOW,
  });
  const context = { actor: 'test', correlationId: 'c', causationId: 'r', now: NOW };
  await eventLog.append(
    'session-s-1',
    [
      created as never,
      { type: 'WorkspaceInitialized', data: { workspace_path: root, repos: [], initialized_at: 'x' } },
    ],
    { expectedRevision: 'no_stream', context },
  );
  const stateFile = join(root, '.session-state.yaml');
  const writeFor = (revision: number) =>
    effects['write-session-state'](
      { kind: 'write-session-state', sessionId: 's-1' },
      {
        signal: new AbortController().signal,
        key: 'k',
        attempt: 1,
        cause: { ...stored('session-s-1', created), revision },
      },
    );
  t.deepEqual(await writeFor(0), [], 'nothing to record');
  await t.throwsAsync(readFile(stateFile, 'utf8'), { code: 'ENOENT' }, 'revision 1 will write it');
  await writeFor(1);
  t.regex(await readFile(stateFile, 'utf8'), /^# Written by the gateway[\s\S]*session_id: s-1[\s\S]*workspace_path:/);
  await eventLog.append('session-s-1', [{ type: 'SessionPaused', data: { paused_at: 'x' } }], {
    expectedRevision: 1,
    context,
  });
  await writeFor(1);
  t.notRegex(await readFile(stateFile, 'utf8'), /status: paused/, 'skipped: revision 2 will write it');
  await writeFor(2);
  t.regex(await readFile(stateFile, 'utf8'), /status: paused/);
});
