import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import type { StoredEvent } from '../../src/events/stored-event.js';
import { sessionEventDefinitions } from '../../src/sessions/events.js';
import { workspaceEffects, workspaceManager } from '../../src/workspaces/workspace-manager.js';
import { openTestEventLog } from '../support/test-store.js';

const stored = (stream: string, event: StoredEvent['event']): StoredEvent => ({
  id: 'e-1',
  stream,
  revision: 0,
  position: 0,
  event,
  metadata: { actor: 'slack', correlation_id: 'c', causation_id: 'r', recorded_at: '2030-01-01T00:00:00.000Z', hash: 'h' },
});

const created = {
  type: 'SessionCreated',
  data: { session_id: 's-1', category: 'platform', project: 'billing', repos: [{ name: 'api', url: null, ref: null }], task: { title: 't', description: '' }, requested_by: null, created_at: 'x' },
};

test('given SessionCreated, the manager asks for the workspace of <category>-<project>, keyed to the event', (t) => {
  t.deepEqual(workspaceManager.react(stored('session-s-1', created)), [
    { type: 'effect', key: 'e-1:prepare', stream: 'session-s-1', effect: { kind: 'prepare-workspace', builder: 'platform-billing', repos: [{ name: 'api', url: null, ref: null }] } },
  ]);
  t.deepEqual(workspaceManager.react(stored('session-s-1', { type: 'SessionPaused', data: { paused_at: 'x' } })), [
    { type: 'effect', key: 'e-1:state-file', stream: 'session-s-1', effect: { kind: 'write-session-state', sessionId: 's-1' } },
  ]);
  t.deepEqual(workspaceManager.react(stored('session-s-1', { type: 'WorkspaceRemoved', data: { workspace_path: '/w', removed_at: 'x' } })), []);
  t.deepEqual(workspaceManager.react(stored('other-1', created)), [], 'only session streams');
});

test('the effect records WorkspaceInitialized for real repositories, and WorkspaceFailed for an unknown one', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'workspace-pm-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const source = join(root, 'repos', 'api');
  await simpleGit().raw(['init', '-q', '-b', 'main', source]);
  await writeFile(join(source, 'a.txt'), 'a\n');
  await simpleGit(source).add('.');
  await simpleGit(source).raw(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init']);
  const { eventLog } = await openTestEventLog(t, sessionEventDefinitions);
  const effects = workspaceEffects({ basePath: join(root, 'builders'), reposRoot: join(root, 'repos'), eventLog, clock: () => new Date('2030-01-01T00:00:00.000Z') });
  const context = { signal: new AbortController().signal, key: 'k', attempt: 1, cause: stored('session-s-1', created) };
  const [ready] = (await effects['prepare-workspace']({ kind: 'prepare-workspace', builder: 'platform-billing', repos: [{ name: 'api', url: null, ref: null }] }, context)) as readonly { type: string; data: unknown }[];
  t.like(ready, { type: 'WorkspaceInitialized', data: { workspace_path: join(root, 'builders', 'platform-billing'), initialized_at: '2030-01-01T00:00:00.000Z' } });
  t.regex(await readFile(join(root, 'builders', 'platform-billing', 'arch-decisions.md'), 'utf8'), /^# Architecture decisions — platform-billing/);
  const [failed] = (await effects['prepare-workspace']({ kind: 'prepare-workspace', builder: 'platform-billing', repos: [{ name: 'ghost', url: null, ref: null }] }, context)) as readonly { type: string; data: unknown }[];
  t.is(failed?.type, 'WorkspaceFailed');
  t.regex((failed?.data as { reason: string }).reason, /repo ghost is neither cloned/);
  const [badName] = (await effects['prepare-workspace']({ kind: 'prepare-workspace', builder: '../escape', repos: [] }, context)) as readonly { type: string; data: unknown }[];
  t.is(badName?.type, 'WorkspaceFailed');
});
