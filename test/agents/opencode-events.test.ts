import test from 'ava';
import { triggerOf } from '../../src/agents/opencode-events.js';
import { planReconcile, type BridgePolicy, type PlannedCommand } from '../../src/agents/reconcile.js';
import { readCapture, snapshotOf } from './capture.js';

const DIRECTORY = '/workspace/.builders/demo-a';
const POLICY: BridgePolicy = { permissions: 'workspace', maxProviderRetries: 3 };
const whys = (name: string) =>
  readCapture(name).flatMap((line) => {
    const trigger = triggerOf(line);
    return trigger ? [trigger.kind === 'connected' ? 'connected' : trigger.why] : [];
  });

/** The keys the session would have recorded after these commands, as the decider notes them. */
const recordedAfter = (commands: readonly PlannedCommand[]): Set<string> =>
  new Set(
    commands.flatMap((command) => {
      switch (command.type) {
        case 'RecordProgress':
          return [`progress:${command.progressId}`];
        case 'RecordAgentReply':
          return [`reply:${command.messageId}`];
        case 'RecordTurnFailed':
          return [`failure:${command.messageId}`];
        case 'AskQuestion':
          return [`question:${command.questionId}`];
        case 'RecordPermissionDecision':
          return [`permission:${command.permissionId}`];
        default:
          return [];
      }
    }),
  );

test('captured write turn: the tool becomes progress, the final text a reply, the end idle; deltas trigger nothing', (t) => {
  t.deepEqual(whys('events-write-tool-prompt.sse'), [
    'connected',
    'status busy',
    'status busy',
    'tool write completed',
    'assistant message finished',
    'status busy',
    'status busy',
    'assistant message finished',
    'status busy',
    'status idle',
    'session.idle',
  ]);
  const plan = planReconcile(
    snapshotOf(readCapture('events-write-tool-prompt.sse')),
    { recorded: new Set(), directory: DIRECTORY, serverStartedAt: 0 },
    POLICY,
  );
  t.deepEqual(plan.commands, [
    {
      type: 'RecordProgress',
      progressId: 'tool:prt_20d478430001BF1bcg25TVMK6U',
      todos: null,
      summary: 'Wrote hello.txt',
      files: ['hello.txt'],
    },
    {
      type: 'RecordAgentReply',
      messageId: 'msg_20d478482001DLZEXjRqAdzmoS',
      text: 'Done. Tool result was: Wrote file successfully.',
    },
    { type: 'RecordAgentStatus', agentStatus: 'idle' },
  ]);
  t.false(plan.abort);
});

test('reconciling again after recording leaves only the status: nothing is recorded twice', (t) => {
  const snapshot = snapshotOf(readCapture('events-write-tool-prompt.sse'));
  const first = planReconcile(snapshot, { recorded: new Set(), directory: DIRECTORY, serverStartedAt: 0 }, POLICY);
  t.deepEqual(
    planReconcile(
      snapshot,
      { recorded: recordedAfter(first.commands), directory: DIRECTORY, serverStartedAt: 0 },
      POLICY,
    ).commands,
    [{ type: 'RecordAgentStatus', agentStatus: 'idle' }],
  );
});

test('captured question: while it waits it is asked with its options and the agent works; the answered turn replies', (t) => {
  const lines = readCapture('events-question.sse');
  t.true(whys('events-question.sse').includes('question.asked'));
  const asked = lines.findIndex((line) => (line as { type: string }).type === 'question.asked');
  const waiting = planReconcile(
    snapshotOf(lines.slice(0, asked + 1), { type: 'busy' }),
    { recorded: new Set(), directory: DIRECTORY, serverStartedAt: 0 },
    POLICY,
  );
  t.deepEqual(waiting.commands, [
    {
      type: 'AskQuestion',
      questionId: 'que_20d47afeb001s9xRt5D0sSADBE',
      text: 'Which database should I use?',
      options: ['Postgres', 'SQLite'],
    },
    { type: 'RecordAgentStatus', agentStatus: 'working' },
  ]);
  const done = planReconcile(
    snapshotOf(lines),
    { recorded: recordedAfter(waiting.commands), directory: DIRECTORY, serverStartedAt: 0 },
    POLICY,
  );
  t.like(done.commands[0], { type: 'RecordAgentReply', messageId: 'msg_20d47c897001HFHnRf2YmZc57C' });
  t.regex(
    (done.commands[0] as { text: string }).text,
    /Tool result was: User has answered your questions: "Which database/,
  );
});

test('captured permission: a command in the workspace is allowed once; outside paths and external directories are rejected', (t) => {
  const lines = readCapture('events-permission.sse');
  const asked = lines.findIndex((line) => (line as { type: string }).type === 'permission.asked');
  const snapshot = snapshotOf(lines.slice(0, asked + 1), { type: 'busy' });
  const plan = planReconcile(snapshot, { recorded: new Set(), directory: DIRECTORY, serverStartedAt: 0 }, POLICY);
  t.deepEqual(plan.permissionReplies, [{ id: 'per_20d47e6a3001gHNx69J0WVb5Wj', reply: 'once' }]);
  t.like(plan.commands[0], {
    type: 'RecordPermissionDecision',
    permission: 'bash',
    patterns: ['echo bash-ran > bash.txt', 'cat bash.txt'],
    reply: 'once',
    reason: 'inside the workspace',
  });
  const [request] = snapshot.permissions;
  const outside = {
    ...snapshot,
    permissions: [
      { ...request!, id: 'per_2', permission: 'edit', patterns: ['/etc/passwd'] },
      { ...request!, id: 'per_3', permission: 'external_directory', patterns: ['/tmp/*'] },
      { ...request!, id: 'per_4', permission: 'read', patterns: ['../other/secret.txt'] },
    ],
  };
  t.deepEqual(
    planReconcile(outside, { recorded: new Set(), directory: DIRECTORY, serverStartedAt: 0 }, POLICY).permissionReplies,
    [
      { id: 'per_2', reply: 'reject' },
      { id: 'per_3', reply: 'reject' },
      { id: 'per_4', reply: 'reject' },
    ],
  );
  t.deepEqual(
    planReconcile(
      outside,
      { recorded: new Set(), directory: DIRECTORY, serverStartedAt: 0 },
      { ...POLICY, permissions: 'allow' },
    ).permissionReplies.map((reply) => reply.reply),
    ['once', 'once', 'once'],
  );
  t.deepEqual(
    planReconcile(
      snapshot,
      { recorded: new Set(), directory: DIRECTORY, serverStartedAt: 0 },
      { ...POLICY, permissions: 'reject' },
    ).permissionReplies,
    [{ id: 'per_20d47e6a3001gHNx69J0WVb5Wj', reply: 'reject' }],
  );
});

test('captured abort and provider retries: the aborted turn is a failure; past the retry limit the running turn is aborted and reported', (t) => {
  const lines = readCapture('events-abort-and-retry.sse');
  t.true(whys('events-abort-and-retry.sse').filter((why) => why === 'status retry').length >= 5);
  const aborted = planReconcile(
    snapshotOf(lines),
    { recorded: new Set(), directory: DIRECTORY, serverStartedAt: 0 },
    POLICY,
  );
  t.deepEqual(aborted.commands[0], {
    type: 'RecordTurnFailed',
    messageId: 'msg_20d4864cb001TPjPjqgLlm3Dgg',
    error: 'MessageAbortedError',
    message: 'Aborted',
  });
  const statuses = lines.flatMap((line) => {
    const payload = line as {
      type: string;
      properties: { status?: { type: string; attempt?: number; message?: string; next?: number } };
    };
    return payload.type === 'session.status' && payload.properties.status?.type === 'retry'
      ? [payload.properties.status]
      : [];
  });
  const last = statuses.at(-1) as { type: 'retry'; attempt: number; message: string; next: number };
  t.is(last.attempt, 5);
  // The capture's last turn never finished: its assistant message is the running one.
  const running = snapshotOf(lines, last);
  const within = planReconcile(
    running,
    { recorded: new Set(), directory: DIRECTORY, serverStartedAt: 0 },
    { ...POLICY, maxProviderRetries: 5 },
  );
  t.false(within.abort);
  t.deepEqual(within.commands.at(-1), { type: 'RecordAgentStatus', agentStatus: 'working' });
  const beyond = planReconcile(running, { recorded: new Set(), directory: DIRECTORY, serverStartedAt: 0 }, POLICY);
  t.true(beyond.abort);
  const failure = beyond.commands.find(
    (command) => command.type === 'RecordTurnFailed' && command.error === 'ProviderUnreachable',
  ) as { message: string } | undefined;
  t.regex(failure?.message ?? '', /^the model provider failed 5 times: Cannot connect to API/);
  t.deepEqual(beyond.commands.at(-1), { type: 'RecordAgentStatus', agentStatus: 'idle' });
});

test('a todo list becomes progress once per version', (t) => {
  const todos = [
    { content: 'Read the footer code', status: 'completed', priority: 'high' },
    { content: 'Fix the typo', status: 'in_progress', priority: 'high' },
  ];
  const snapshot = { messages: [], todos, questions: [], permissions: [], status: undefined };
  const first = planReconcile(snapshot, { recorded: new Set(), directory: DIRECTORY, serverStartedAt: 0 }, POLICY);
  t.like(first.commands[0], { type: 'RecordProgress', summary: '1 of 2 done; now: Fix the typo', todos, files: [] });
  t.deepEqual(
    planReconcile(
      snapshot,
      { recorded: recordedAfter(first.commands), directory: DIRECTORY, serverStartedAt: 0 },
      POLICY,
    ).commands,
    [{ type: 'RecordAgentStatus', agentStatus: 'idle' }],
  );
  const next = { ...snapshot, todos: todos.map((todo) => ({ ...todo, status: 'completed' })) };
  t.like(
    planReconcile(next, { recorded: recordedAfter(first.commands), directory: DIRECTORY, serverStartedAt: 0 }, POLICY)
      .commands[0],
    { type: 'RecordProgress', summary: '2 of 2 done' },
  );
});

test('lines that are not news trigger nothing; the global stream’s wrapping is understood', (t) => {
  t.is(triggerOf({ type: 'message.part.delta', properties: { sessionID: 'ses_1' } }), null);
  t.is(triggerOf({ type: 'server.heartbeat', properties: {} }), null);
  t.is(triggerOf('garbage'), null);
  t.deepEqual(
    triggerOf({ directory: '/w', payload: { type: 'todo.updated', properties: { sessionID: 'ses_1', todos: [] } } }),
    { kind: 'session', sessionID: 'ses_1', why: 'todo list changed' },
  );
});

test('a reply begun by an OpenCode server that has died since is reported once as interrupted; one begun by this server is running', (t) => {
  const lines = readCapture('events-abort-and-retry.sse');
  // The capture's last turn never finished.
  const snapshot = snapshotOf(lines, undefined);
  const unfinished = snapshot.messages
    .filter(({ info }) => info.role === 'assistant' && info.time.completed === undefined)
    .at(-1)!.info;
  const restarted = { recorded: new Set<string>(), directory: DIRECTORY, serverStartedAt: unfinished.time.created + 1 };
  const plan = planReconcile(snapshot, restarted, POLICY);
  t.like(
    plan.commands.find((command) => command.type === 'RecordTurnFailed' && command.error === 'Interrupted'),
    { messageId: unfinished.id },
  );
  t.deepEqual(plan.commands.at(-1), { type: 'RecordAgentStatus', agentStatus: 'idle' });
  t.false(
    planReconcile(snapshot, { ...restarted, recorded: recordedAfter(plan.commands) }, POLICY).commands.some(
      (command) => command.type === 'RecordTurnFailed',
    ),
    'once',
  );
  const sameServer = planReconcile(snapshot, { ...restarted, serverStartedAt: unfinished.time.created - 1 }, POLICY);
  t.false(
    sameServer.commands.some((command) => command.type === 'RecordTurnFailed' && command.error === 'Interrupted'),
    'a reply this server began may still be under way',
  );
});
