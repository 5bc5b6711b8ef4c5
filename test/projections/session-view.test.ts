import test from 'ava';
import type { DomainEvent } from '../../src/events/domain-event.js';
import type { StoredEvent } from '../../src/events/stored-event.js';
import { foldDocuments } from '../../src/projections/projection.js';
import { sessionViews } from '../../src/sessions/session-view.js';
import type { SessionEvent } from '../../src/sessions/events.js';

let position = 0;
const stored = (
  stream: string,
  revision: number,
  event: SessionEvent | DomainEvent,
  at = `2030-01-01T10:00:0${revision}.000Z`,
): StoredEvent => ({
  id: `e-${position}`,
  stream,
  revision,
  position: position++,
  event,
  metadata: { actor: 'slack', correlation_id: 'c', causation_id: 'r', recorded_at: at, hash: 'h' },
});

const created: SessionEvent = {
  type: 'SessionCreated',
  data: {
    session_id: 's-1',
    category: 'platform',
    project: 'billing',
    repos: [
      { name: 'api', url: null, ref: 'main' },
      { name: 'web', url: 'file:///srv/web.git', ref: null },
    ],
    task: { title: 'Fix typo', description: 'footer' },
    requested_by: null,
    created_at: '2030-01-01T10:00:00.000Z',
  },
};

test('the session view follows the contract through suggestion, workspace, confirmation, pause and close', (t) => {
  const events = [
    stored('session-s-1', 0, created),
    stored('session-s-1', 1, {
      type: 'RouteSuggested',
      data: { suggested: 'builder', confidence: 0.5, reason: 'typo', scores: { builder: 3 }, signals: [] },
    }),
    stored('session-s-1', 2, {
      type: 'WorkspaceInitialized',
      data: {
        workspace_path: '/w/platform-billing',
        repos: [
          {
            name: 'api',
            worktree_path: '/w/platform-billing/repos/api',
            branch: 'builder/platform-billing',
            base_commit: 'abc123',
          },
        ],
        initialized_at: 'x',
      },
    }),
  ];
  const waiting = foldDocuments(sessionViews, events).get('s-1')!;
  t.like(waiting, {
    status: 'awaiting_route',
    workspace_path: '/w/platform-billing',
    revision: 2,
    updated_at: '2030-01-01T10:00:02.000Z',
    created_at: '2030-01-01T10:00:00.000Z',
  });
  t.deepEqual(waiting.route, {
    suggested: 'builder',
    confidence: 0.5,
    reason: 'typo',
    confirmed: null,
    confirmed_by: null,
  });
  t.deepEqual(waiting.repos, [
    {
      name: 'api',
      url: null,
      ref: 'main',
      worktree_path: '/w/platform-billing/repos/api',
      branch: 'builder/platform-billing',
      base_commit: 'abc123',
      pushed: null,
      push_error: null,
    },
    {
      name: 'web',
      url: 'file:///srv/web.git',
      ref: null,
      worktree_path: null,
      branch: null,
      base_commit: null,
      pushed: null,
      push_error: null,
    },
  ]);
  const more = [
    ...events,
    stored('session-s-1', 3, {
      type: 'RouteConfirmed',
      data: { route: 'architect', confirmed_by: 'ann', overridden: true, confirmed_at: 'x' },
    }),
  ];
  const active = foldDocuments(sessionViews, more).get('s-1')!;
  t.is(active.status, 'active');
  t.like(active.route, { confirmed: 'architect', confirmed_by: 'ann' });
  const ended = foldDocuments(sessionViews, [
    ...more,
    stored('session-s-1', 4, { type: 'SessionPaused', data: { paused_at: 'x' } }),
    stored('session-s-1', 5, {
      type: 'SessionClosed',
      data: { builder: 'platform-billing', repos: ['api'], reason: null, remove_workspace: false, closed_at: 'x' },
    }),
  ]).get('s-1')!;
  t.like(ended, { status: 'closed', agent_status: 'idle', revision: 5 });
});

test('a route confirmed while initializing makes the session active only when the workspace is ready', (t) => {
  const events = [
    stored('session-s-1', 0, created),
    stored('session-s-1', 1, {
      type: 'RouteConfirmed',
      data: { route: 'builder', confirmed_by: 'gateway', overridden: false, confirmed_at: 'x' },
    }),
  ];
  t.is(foldDocuments(sessionViews, events).get('s-1')!.status, 'initializing');
  const ready = stored('session-s-1', 2, {
    type: 'WorkspaceInitialized',
    data: { workspace_path: '/w', repos: [], initialized_at: 'x' },
  });
  t.is(foldDocuments(sessionViews, [...events, ready]).get('s-1')!.status, 'active');
});

test('a failed workspace fails the session; other streams are not sessions', (t) => {
  const views = foldDocuments(sessionViews, [
    stored('session-s-1', 0, created),
    stored('session-s-1', 1, {
      type: 'WorkspaceFailed',
      data: { builder: 'platform-billing', reason: 'unknown repo web', failed_at: 'x' },
    }),
    stored('pm-workspace-checkpoint', 0, { type: 'CheckpointSaved', data: { subscriber: 'x', position: 1 } }),
  ]);
  t.deepEqual([...views.keys()], ['s-1']);
  t.is(views.get('s-1')!.status, 'failed');
  t.is(views.get('s-1')!.error, 'The workspace could not be prepared: unknown repo web', 'the view says why');
  t.is(foldDocuments(sessionViews, [stored('session-s-1', 0, created)]).get('s-1')!.error, null, 'null until it fails');
});

test('a question shows as pending with the agent waiting; its answer clears it', (t) => {
  const events = [
    stored('session-s-9', 0, { ...created, data: { ...created.data, session_id: 's-9' } } as SessionEvent),
    stored('session-s-9', 1, {
      type: 'QuestionAsked',
      data: { question_id: 'q-1', text: 'Which currency?', options: ['EUR', 'USD'], asked_at: 'x' },
    }),
  ];
  const waiting = foldDocuments(sessionViews, events).get('s-9');
  t.like(waiting, {
    agent_status: 'waiting_for_answer',
    pending_question: { question_id: 'q-1', text: 'Which currency?', options: ['EUR', 'USD'] },
    revision: 1,
  });
  const answered = foldDocuments(sessionViews, [
    ...events,
    stored('session-s-9', 2, {
      type: 'QuestionAnswered',
      data: { question_id: 'q-1', answer: 'EUR', answered_by: 'ann', answered_at: 'y' },
    }),
  ]).get('s-9');
  t.like(answered, { agent_status: 'working', pending_question: null, revision: 2 });
});

test('a push shows on its repo: pushed with the compare link, a refusal as push_error (pushed keeps what the remote last took), the next success clears it', (t) => {
  const pushed = (revision: number, commit: string) =>
    stored('session-s-1', revision, {
      type: 'BranchPushed',
      data: {
        repo: 'web',
        remote: 'file:///srv/web.git',
        branch: 'builder/platform-billing',
        commit,
        compare_url: 'https://git.example.com/acme/web/compare/builder/platform-billing',
        pushed_at: `2030-01-01T10:00:0${revision}.000Z`,
      },
    });
  const refused = stored('session-s-1', 2, {
    type: 'BranchPushFailed',
    data: {
      repo: 'web',
      remote: 'file:///srv/web.git',
      branch: 'builder/platform-billing',
      commit: 'c2',
      reason: 'pushing to file:///srv/web.git failed: ! [rejected] (non-fast-forward)',
      failed_at: '2030-01-01T10:00:02.000Z',
    },
  });
  const viewAfter = (events: StoredEvent[]) => foldDocuments(sessionViews, events).get('s-1')!;
  const first = viewAfter([stored('session-s-1', 0, created), pushed(1, 'c1')]);
  t.deepEqual(first.repos[1]!.pushed, {
    remote: 'file:///srv/web.git',
    branch: 'builder/platform-billing',
    commit: 'c1',
    pushed_at: '2030-01-01T10:00:01.000Z',
    compare_url: 'https://git.example.com/acme/web/compare/builder/platform-billing',
  });
  t.like(first.repos[0], { pushed: null, push_error: null }, 'the other repo is untouched');
  const failed = viewAfter([stored('session-s-1', 0, created), pushed(1, 'c1'), refused]);
  t.regex(failed.repos[1]!.push_error!, /non-fast-forward/);
  t.is(failed.repos[1]!.pushed!.commit, 'c1');
  const again = viewAfter([stored('session-s-1', 0, created), pushed(1, 'c1'), refused, pushed(3, 'c3')]);
  t.like(again.repos[1], { push_error: null, pushed: { commit: 'c3' } });
  t.is(again.revision, 3);
});
