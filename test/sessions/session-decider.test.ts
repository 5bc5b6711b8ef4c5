import test from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import { foldEvents } from '../../src/commands/decider.js';
import type { RoutingAnalysis } from '../../src/routing/analyze.js';
import { sessionDecider, type SessionCommand } from '../../src/sessions/decider.js';
import type { SessionEvent } from '../../src/sessions/events.js';
import { deciderSpec } from '../support/decider-spec.js';

const now = new Date('2030-01-01T10:00:00.000Z');
const at = now.toISOString();
const spec = deciderSpec(sessionDecider);

const analysis = (confidence: number): RoutingAnalysis => ({
  suggested: 'builder',
  confidence,
  reason: 'Suggested builder (score 3) because of "typo" (+3).',
  scores: { architect: 0, pm: 0, builder: 3, 'party-mode': 0 },
  signals: [{ route: 'builder', term: 'typo', weight: 3 }],
});

const create = (confidence: number): SessionCommand => ({
  type: 'CreateSession',
  sessionId: 's-1',
  category: 'platform',
  project: 'billing',
  repos: [{ name: 'api', url: null, ref: 'main' }],
  task: { title: 'Fix typo', description: 'In the footer' },
  requestedBy: { user: 'U1', channel: 'C1', thread_ts: '1.2' },
  analysis: analysis(confidence),
  autoConfirmConfidence: 0.8,
  now,
});

const created: SessionEvent = {
  type: 'SessionCreated',
  data: {
    session_id: 's-1',
    category: 'platform',
    project: 'billing',
    repos: [{ name: 'api', url: null, ref: 'main' }],
    task: { title: 'Fix typo', description: 'In the footer' },
    requested_by: { user: 'U1', channel: 'C1', thread_ts: '1.2' },
    created_at: at,
  },
};
const suggested = (confidence: number): SessionEvent => ({
  type: 'RouteSuggested',
  data: {
    ...analysis(confidence),
    scores: { ...analysis(confidence).scores },
    signals: [{ route: 'builder', term: 'typo', weight: 3 }],
    awaiting_confirmation: confidence < 0.8,
  },
});
const confirmed = (route: 'builder' | 'architect', by: string, overridden: boolean): SessionEvent => ({
  type: 'RouteConfirmed',
  data: { route, confirmed_by: by, overridden, confirmed_at: at },
});
const workspace: SessionEvent = {
  type: 'WorkspaceInitialized',
  data: {
    workspace_path: '/w/platform-billing',
    repos: [
      {
        name: 'api',
        worktree_path: '/w/platform-billing/repos/api',
        branch: 'builder/platform-billing',
        base_commit: 'abc',
      },
    ],
    initialized_at: at,
  },
};
const workspaceFailed: SessionEvent = {
  type: 'WorkspaceFailed',
  data: { builder: 'platform-billing', reason: 'unknown repo api', failed_at: at },
};
const paused: SessionEvent = { type: 'SessionPaused', data: { paused_at: at } };
const asked: SessionEvent = {
  type: 'QuestionAsked',
  data: { question_id: 'q-1', text: 'Which currency?', options: ['EUR', 'USD'], asked_at: at },
};
const answered: SessionEvent = {
  type: 'QuestionAnswered',
  data: { question_id: 'q-1', answer: 'EUR', answered_by: 'ann', answered_at: at },
};
const agentStarted: SessionEvent = {
  type: 'AgentSessionStarted',
  data: { opencode_session_id: 'ses_1', agent: 'builder', directory: '/w/platform-billing', started_at: at },
};
const closed: SessionEvent = {
  type: 'SessionClosed',
  data: { builder: 'platform-billing', repos: ['api'], reason: null, remove_workspace: false, closed_at: at },
};
const removed: SessionEvent = {
  type: 'WorkspaceRemoved',
  data: { workspace_path: '/w/platform-billing', removed_at: at },
};
const working: SessionEvent = { type: 'AgentStatusChanged', data: { agent_status: 'working', changed_at: at } };

const HISTORIES: Record<string, SessionEvent[]> = {
  none: [],
  initializing: [created, suggested(0.5)],
  awaiting_route: [created, suggested(0.5), workspace],
  active: [created, suggested(0.5), confirmed('builder', 'ann', false), workspace],
  paused: [created, suggested(0.5), confirmed('builder', 'ann', false), workspace, paused],
  closed: [created, suggested(0.5), confirmed('builder', 'ann', false), workspace, closed],
  failed: [created, suggested(0.5), workspaceFailed],
};

test('the histories reach the statuses they are named after', (t) => {
  for (const [status, events] of Object.entries(HISTORIES))
    t.is(foldEvents(sessionDecider, events).status as string, status);
});

test('create: suggests a route; below the auto-confirm confidence it waits for a person', (t) => {
  spec
    .given([])
    .when(create(0.5))
    .then(t, [created, suggested(0.5)]);
});

test('create: at or above the auto-confirm confidence the gateway confirms the route itself', (t) => {
  spec
    .given([])
    .when(create(0.8))
    .then(t, [created, suggested(0.8), confirmed('builder', 'gateway', false)]);
});

test('create on an existing session is a conflict naming its state', (t) => {
  spec
    .given(HISTORIES['active']!)
    .when(create(0.5))
    .thenFails(t, { kind: 'conflict', state: 'active', detail: 'session s-1 exists already (the session is active)' });
});

test('a route confirmed while the workspace initializes makes the session active once the workspace is ready', (t) => {
  const state = foldEvents(sessionDecider, [created, suggested(0.5), confirmed('architect', 'ann', true)]);
  t.is(state.status, 'initializing');
  t.is(foldEvents(sessionDecider, [workspace], state).status, 'active');
});

const commands: Record<string, SessionCommand> = {
  ConfirmRoute: { type: 'ConfirmRoute', route: 'architect', confirmedBy: 'ann', now },
  RecordWorkspaceInitialized: {
    type: 'RecordWorkspaceInitialized',
    workspacePath: '/w/platform-billing',
    repos: workspace.type === 'WorkspaceInitialized' ? workspace.data.repos : [],
    now,
  },
  RecordWorkspaceFailed: { type: 'RecordWorkspaceFailed', reason: 'unknown repo api', output: null, now },
  RecordWorkspaceRemoved: { type: 'RecordWorkspaceRemoved', workspacePath: '/w/platform-billing', now },
  SendMessage: { type: 'SendMessage', messageId: 'm-1', text: 'hello', from: 'ann', now },
  AskQuestion: { type: 'AskQuestion', questionId: 'q-1', text: 'Which currency?', options: ['EUR', 'USD'], now },
  AnswerQuestion: { type: 'AnswerQuestion', questionId: 'q-1', answer: 'EUR', answeredBy: 'ann', now },
  RecordAgentSessionStarted: {
    type: 'RecordAgentSessionStarted',
    opencodeSessionId: 'ses_1',
    agent: 'builder',
    directory: '/w/platform-billing',
    now,
  },
  RecordPromptSent: { type: 'RecordPromptSent', messageId: 'task', opencodeMessageId: 'msg_1', agent: 'builder', now },
  RecordAgentStatus: { type: 'RecordAgentStatus', agentStatus: 'working', now },
  RecordAgentReply: { type: 'RecordAgentReply', messageId: 'msg_2', text: 'Fixed.', now },
  RecordProgress: {
    type: 'RecordProgress',
    progressId: 'todo:1',
    summary: '1 of 2 done',
    todos: [{ content: 'Fix', status: 'completed', priority: 'high' }],
    files: [],
    now,
  },
  RecordTurnFailed: {
    type: 'RecordTurnFailed',
    messageId: 'msg_3',
    error: 'APIError',
    message: 'provider said no',
    now,
  },
  RecordPermissionDecision: {
    type: 'RecordPermissionDecision',
    permissionId: 'per_1',
    permission: 'bash',
    patterns: ['ls'],
    reply: 'once',
    reason: 'inside the workspace',
    now,
  },
  RecordAgentSessionEnded: { type: 'RecordAgentSessionEnded', opencodeSessionId: 'ses_1', now },
  PauseSession: { type: 'PauseSession', now },
  ResumeSession: { type: 'ResumeSession', now },
  CloseSession: { type: 'CloseSession', reason: null, removeWorkspace: false, now },
};

/** What each command does in each state: the events, 'empty' (an accepted no-op), or the refusal kind. */
const liveOnly = (events: SessionEvent[]) =>
  ({
    none: 'not_found',
    initializing: 'conflict',
    awaiting_route: 'conflict',
    active: events,
    paused: events,
    closed: 'conflict',
    failed: 'conflict',
  }) as const;

const EXPECTED: Record<string, Record<string, SessionEvent[] | 'empty' | 'conflict' | 'not_found' | 'no_question'>> = {
  RecordAgentSessionStarted: liveOnly([agentStarted]),
  // No agent has started in these histories: a prompt has nowhere to go.
  RecordPromptSent: {
    none: 'not_found',
    initializing: 'conflict',
    awaiting_route: 'conflict',
    active: 'conflict',
    paused: 'conflict',
    closed: 'conflict',
    failed: 'conflict',
  },
  RecordAgentStatus: liveOnly([{ type: 'AgentStatusChanged', data: { agent_status: 'working', changed_at: at } }]),
  RecordAgentReply: liveOnly([{ type: 'AgentReplied', data: { message_id: 'msg_2', text: 'Fixed.', replied_at: at } }]),
  RecordProgress: liveOnly([
    {
      type: 'ProgressReported',
      data: {
        progress_id: 'todo:1',
        summary: '1 of 2 done',
        todos: [{ content: 'Fix', status: 'completed', priority: 'high' }],
        files: [],
        reported_at: at,
      },
    },
  ]),
  RecordTurnFailed: liveOnly([
    {
      type: 'AgentTurnFailed',
      data: { message_id: 'msg_3', error: 'APIError', message: 'provider said no', failed_at: at },
    },
  ]),
  RecordPermissionDecision: liveOnly([
    {
      type: 'PermissionDecided',
      data: {
        permission_id: 'per_1',
        permission: 'bash',
        patterns: ['ls'],
        reply: 'once',
        reason: 'inside the workspace',
        decided_at: at,
      },
    },
  ]),
  RecordAgentSessionEnded: {
    none: 'not_found',
    initializing: 'empty',
    awaiting_route: 'empty',
    active: 'empty',
    paused: 'empty',
    closed: 'empty',
    failed: 'empty',
  },
  AskQuestion: {
    none: 'not_found',
    initializing: 'conflict',
    awaiting_route: 'conflict',
    active: [asked],
    paused: 'conflict',
    closed: 'conflict',
    failed: 'conflict',
  },
  // No question waits in these histories; the tests below answer one that does.
  AnswerQuestion: {
    none: 'not_found',
    initializing: 'no_question',
    awaiting_route: 'no_question',
    active: 'no_question',
    paused: 'no_question',
    closed: 'no_question',
    failed: 'no_question',
  },
  ConfirmRoute: {
    none: 'not_found',
    initializing: [confirmed('architect', 'ann', true)],
    awaiting_route: [confirmed('architect', 'ann', true)],
    active: 'conflict',
    paused: 'conflict',
    closed: 'conflict',
    failed: 'conflict',
  },
  RecordWorkspaceInitialized: {
    none: 'not_found',
    initializing: [workspace],
    awaiting_route: 'empty',
    active: 'empty',
    paused: 'empty',
    closed: 'empty',
    failed: 'conflict',
  },
  RecordWorkspaceFailed: {
    none: 'not_found',
    initializing: [workspaceFailed],
    awaiting_route: 'conflict',
    active: 'conflict',
    paused: 'conflict',
    closed: 'conflict',
    failed: 'conflict',
  },
  RecordWorkspaceRemoved: {
    none: 'not_found',
    initializing: 'conflict',
    awaiting_route: 'conflict',
    active: 'conflict',
    paused: 'conflict',
    closed: [removed],
    failed: 'conflict',
  },
  // What the bridge answers when its effect found nothing to do: nothing, whatever the state.
  SendMessage: {
    none: 'not_found',
    initializing: 'conflict',
    awaiting_route: 'conflict',
    active: [{ type: 'MessageSent', data: { message_id: 'm-1', text: 'hello', from: 'ann', sent_at: at } }],
    paused: 'conflict',
    closed: 'conflict',
    failed: 'conflict',
  },
  PauseSession: {
    none: 'not_found',
    initializing: 'conflict',
    awaiting_route: 'conflict',
    active: [paused],
    paused: 'conflict',
    closed: 'conflict',
    failed: 'conflict',
  },
  ResumeSession: {
    none: 'not_found',
    initializing: 'conflict',
    awaiting_route: 'conflict',
    active: 'conflict',
    paused: [{ type: 'SessionResumed', data: { resumed_at: at } }],
    closed: 'conflict',
    failed: 'conflict',
  },
  CloseSession: {
    none: 'not_found',
    initializing: [closed],
    awaiting_route: [closed],
    active: [closed],
    paused: [closed],
    closed: 'conflict',
    failed: [closed],
  },
};

for (const [name, command] of Object.entries(commands)) {
  for (const [status, history] of Object.entries(HISTORIES)) {
    const expected = EXPECTED[name]![status]!;
    test(`${name} when ${status}: ${Array.isArray(expected) ? expected.map((event) => event.type).join(', ') : expected}`, (t) => {
      const result = sessionDecider.decide(command, foldEvents(sessionDecider, history));
      if (expected === 'conflict') {
        t.true(E.isLeft(result));
        if (E.isLeft(result)) {
          t.is(result.left.kind, 'conflict');
          if (result.left.kind === 'conflict') {
            t.is(result.left.state, status);
            t.regex(result.left.detail, new RegExp(`the session is ${status}`));
          }
        }
      } else if (expected === 'not_found') {
        t.deepEqual(result, E.left({ kind: 'not_found', detail: 'no such session' }));
      } else if (expected === 'no_question') {
        t.deepEqual(result, E.left({ kind: 'not_found', detail: 'no question q-1 is waiting in this session' }));
      } else {
        t.deepEqual(result, E.right(expected === 'empty' ? [] : expected));
      }
    });
  }
}

test('pause then resume brings the session back to active; close ends it for good', (t) => {
  const resumed = foldEvents(sessionDecider, [
    ...HISTORIES['paused']!,
    { type: 'SessionResumed', data: { resumed_at: at } },
  ]);
  t.is(resumed.status, 'active');
  t.is(foldEvents(sessionDecider, [closed], resumed).status, 'closed');
});

test('a workspace or route recorded after the session closed does not revive it', (t) => {
  const late = foldEvents(sessionDecider, [
    created,
    suggested(0.5),
    closed,
    workspace,
    confirmed('builder', 'ann', false),
  ]);
  t.is(late.status, 'closed');
});

test('the agent’s waiting question is answered once; a second question waits for the first answer', (t) => {
  const questioned = [...HISTORIES['active']!, asked];
  spec.given(questioned).when(commands['AnswerQuestion']!).then(t, [answered]);
  spec
    .given([...questioned, answered])
    .when(commands['AnswerQuestion']!)
    .thenFails(t, {
      kind: 'conflict',
      state: 'active',
      detail: 'question q-1 was answered already (the session is active)',
    });
  spec
    .given(questioned)
    .when({ ...commands['AnswerQuestion']!, questionId: 'q-9' } as SessionCommand)
    .thenFails(t, { kind: 'not_found', detail: 'no question q-9 is waiting in this session' });
  spec.given(questioned).when({ type: 'AskQuestion', questionId: 'q-2', text: 'And?', options: [], now }).thenFails(t, {
    kind: 'conflict',
    state: 'active',
    detail: 'question q-1 is still waiting for an answer (the session is active)',
  });
  spec
    .given([...questioned, answered])
    .when({ type: 'AskQuestion', questionId: 'q-2', text: 'And?', options: [], now })
    .then(t, [{ type: 'QuestionAsked', data: { question_id: 'q-2', text: 'And?', options: [], asked_at: at } }]);
});

test('a waiting question cannot be answered while the session is paused', (t) => {
  spec
    .given([...HISTORIES['active']!, asked, paused])
    .when(commands['AnswerQuestion']!)
    .thenFails(t, {
      kind: 'conflict',
      state: 'paused',
      detail: 'questions can only be answered in an active session (the session is paused)',
    });
});

test('the bridge’s records are idempotent: a prompt, reply, question, progress or permission recorded once is not recorded again', (t) => {
  const started = [...HISTORIES['active']!, agentStarted];
  const prompt: SessionEvent = {
    type: 'PromptSent',
    data: { message_id: 'task', opencode_message_id: 'msg_1', agent: 'builder', sent_at: at },
  };
  spec.given(started).when(commands['RecordPromptSent']!).then(t, [prompt, working]);
  spec
    .given([...started, prompt, working])
    .when(commands['RecordPromptSent']!)
    .then(t, []);
  const reply: SessionEvent = { type: 'AgentReplied', data: { message_id: 'msg_2', text: 'Fixed.', replied_at: at } };
  spec
    .given([...started, reply])
    .when(commands['RecordAgentReply']!)
    .then(t, []);
  spec
    .given([...started, asked])
    .when(commands['AskQuestion']!)
    .then(t, []); // the same question again
  spec
    .given([...started, asked, answered])
    .when(commands['AskQuestion']!)
    .then(t, []); // an answered question again
  spec
    .given([
      ...started,
      {
        type: 'PermissionDecided',
        data: {
          permission_id: 'per_1',
          permission: 'bash',
          patterns: ['ls'],
          reply: 'once',
          reason: 'r',
          decided_at: at,
        },
      },
    ])
    .when(commands['RecordPermissionDecision']!)
    .then(t, []);
  spec
    .given([...started, { type: 'AgentStatusChanged', data: { agent_status: 'working', changed_at: at } }])
    .when(commands['RecordAgentStatus']!)
    .then(t, []);
  spec.given(started).when(commands['RecordAgentSessionStarted']!).then(t, []); // the same OpenCode session again
  spec
    .given(started)
    .when({ ...commands['RecordAgentSessionStarted']!, opencodeSessionId: 'ses_2' } as SessionCommand)
    .thenFails(t, {
      kind: 'conflict',
      state: 'active',
      detail: 'the agent works in OpenCode session ses_1 already (the session is active)',
    });
  spec
    .given([...started, closed])
    .when(commands['RecordAgentSessionEnded']!)
    .then(t, [{ type: 'AgentSessionEnded', data: { opencode_session_id: 'ses_1', ended_at: at } }]);
});

test('a prompt sets an idle agent to work in the same decision; an agent at work already only gets the prompt', (t) => {
  const started = [...HISTORIES['active']!, agentStarted];
  const prompt: SessionEvent = {
    type: 'PromptSent',
    data: { message_id: 'm-2', opencode_message_id: 'msg_9', agent: 'builder', sent_at: at },
  };
  const command: SessionCommand = {
    type: 'RecordPromptSent',
    messageId: 'm-2',
    opencodeMessageId: 'msg_9',
    agent: 'builder',
    now,
  };
  spec.given(started).when(command).then(t, [prompt, working]);
  spec
    .given([...started, working])
    .when(command)
    .then(t, [prompt]);
});

test('a failed workspace keeps what git or task builder:init printed, and the session says why it failed', (t) => {
  const failed: SessionEvent = {
    type: 'WorkspaceFailed',
    data: {
      builder: 'platform-billing',
      reason: 'task builder:init failed with exit code 4',
      failed_at: at,
      output: 'cannot install toolchain',
    },
  };
  spec
    .given(HISTORIES['initializing']!)
    .when({
      type: 'RecordWorkspaceFailed',
      reason: 'task builder:init failed with exit code 4',
      output: 'cannot install toolchain',
      now,
    })
    .then(t, [failed]);
  const state = foldEvents(sessionDecider, [...HISTORIES['initializing']!, failed]);
  t.deepEqual(
    state.status === 'failed' ? state.error : undefined,
    'The workspace could not be prepared: task builder:init failed with exit code 4',
  );
});

test('a workspace made after the session closed is not recorded (it would not revive it); a removal is recorded once', (t) => {
  const closedEarly = [created, suggested(0.5), closed];
  spec.given(closedEarly).when(commands['RecordWorkspaceInitialized']!).thenFails(t, {
    kind: 'conflict',
    state: 'closed',
    detail: 'a workspace can only be recorded while the session initializes (the session is closed)',
  });
  spec
    .given([...HISTORIES['closed']!, removed])
    .when(commands['RecordWorkspaceRemoved']!)
    .then(t, []);
});

const pushedTo = (commit: string): SessionCommand => ({
  type: 'RecordBranchPushes',
  outcomes: [
    {
      repo: 'api',
      remote: 'https://git.example.com/acme/api.git',
      branch: 'builder/platform-billing',
      commit,
      pushed: true,
      compareUrl: 'https://git.example.com/acme/api/compare/builder/platform-billing',
    },
  ],
  now,
});
const branchPushed = (commit: string): SessionEvent => ({
  type: 'BranchPushed',
  data: {
    repo: 'api',
    remote: 'https://git.example.com/acme/api.git',
    branch: 'builder/platform-billing',
    commit,
    compare_url: 'https://git.example.com/acme/api/compare/builder/platform-billing',
    pushed_at: at,
  },
});
const active = [created, suggested(0.9), confirmed('builder', 'gateway', false), workspace];

test('a push the remote took is recorded once per commit (a push run again after a crash adds nothing); a later commit is recorded again', (t) => {
  spec
    .given(active)
    .when(pushedTo('c1'))
    .then(t, [branchPushed('c1')]);
  spec
    .given([...active, branchPushed('c1')])
    .when(pushedTo('c1'))
    .then(t, []);
  spec
    .given([...active, branchPushed('c1')])
    .when(pushedTo('c2'))
    .then(t, [branchPushed('c2')]);
});

test('a refused push is recorded each time, with the commit and why, whatever the session’s status (a turn’s push may end after a close)', (t) => {
  const refused: SessionCommand = {
    type: 'RecordBranchPushes',
    outcomes: [
      {
        repo: 'api',
        remote: 'https://git.example.com/acme/api.git',
        branch: 'builder/platform-billing',
        commit: 'c2',
        pushed: false,
        reason: 'pushing to https://git.example.com/acme/api.git failed: ! [rejected] (non-fast-forward)',
      },
    ],
    now,
  };
  const failed: SessionEvent = {
    type: 'BranchPushFailed',
    data: {
      repo: 'api',
      remote: 'https://git.example.com/acme/api.git',
      branch: 'builder/platform-billing',
      commit: 'c2',
      reason: 'pushing to https://git.example.com/acme/api.git failed: ! [rejected] (non-fast-forward)',
      failed_at: at,
    },
  };
  const closed: SessionEvent = {
    type: 'SessionClosed',
    data: { builder: 'platform-billing', repos: ['api'], reason: null, remove_workspace: false, closed_at: at },
  };
  spec
    .given([...active, branchPushed('c1')])
    .when(refused)
    .then(t, [failed]);
  spec
    .given([...active, branchPushed('c1'), failed])
    .when(refused)
    .then(t, [failed]);
  spec
    .given([...active, closed])
    .when(refused)
    .then(t, [failed]);
});

test('a deployment that succeeds names the branches pushed so far (for deployment_ready); none pushed is an empty list; other statuses name none', (t) => {
  const status = (value: string): SessionCommand => ({
    type: 'RecordDeploymentStatus',
    deploymentId: 'd-1',
    status: value,
    plan: null,
    expiresAt: null,
    url: value === 'succeeded' ? 'https://billing.lab.example' : null,
    step: null,
    reason: null,
    now,
  });
  const changed = (value: string, extra: object = {}): SessionEvent => ({
    type: 'DeploymentStatusChanged',
    data: {
      deployment_id: 'd-1',
      status: value,
      plan: null,
      expires_at: null,
      url: value === 'succeeded' ? 'https://billing.lab.example' : null,
      step: null,
      reason: null,
      changed_at: at,
      ...extra,
    },
  });
  const repo = {
    name: 'api',
    remote: 'https://git.example.com/acme/api.git',
    branch: 'builder/platform-billing',
    compare_url: 'https://git.example.com/acme/api/compare/builder/platform-billing',
  };
  spec
    .given([...active, branchPushed('c1'), branchPushed('c2')])
    .when(status('succeeded'))
    .then(t, [changed('succeeded', { repos: [repo] })]);
  spec
    .given(active)
    .when(status('succeeded'))
    .then(t, [changed('succeeded', { repos: [] })]);
  spec
    .given([...active, branchPushed('c1')])
    .when(status('testing'))
    .then(t, [changed('testing')]);
});
