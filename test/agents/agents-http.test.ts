import test, { type ExecutionContext } from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { operatorGit } from '../support/operator-git.js';
import type { Gateway } from '../../src/composition.js';
import { sessionStream } from '../../src/sessions/events.js';
import { eventually } from '../support/eventually.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { scriptedProviderConfig, startScriptedModel } from '../support/scripted-model.js';
import { startTestGateway, type TestGatewayOptions } from '../support/test-gateway.js';

/**
 * The agent bridge against the real OpenCode binary and a scripted model on 127.0.0.1: the task
 * and messages become prompts, and OpenCode's replies, questions, progress and failures come
 * back as session events, visible through the API.
 */
const OPERATOR = 'operator-token-0123456789';
// One at a time: each test runs its own gateway and OpenCode server (about 500 MB and a busy
// second of CPU to start), and on a 2-core CI machine eleven at once starve each other.
const call = caller(OPERATOR);

type View = {
  session_id: string;
  status: string;
  agent_status: string;
  workspace_path: string;
  pending_question: { question_id: string; text: string; options: string[] } | null;
};
type Entry = { role: string; text: string };

const start = async (t: ExecutionContext, options: Partial<TestGatewayOptions> = {}) => {
  const model = await startScriptedModel();
  t.teardown(() => model.close());
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api', 'web'],
    opencode: scriptedProviderConfig(model.baseUrl),
    ...options,
  });
  return { gateway, model };
};

/** A confident builder task, so the gateway confirms the route and the agent starts at once. */
const createSession = async (gateway: Gateway, project: string, description: string): Promise<View> => {
  const response = await call(gateway, 'POST', '/api/sessions', {
    category: 'platform',
    project,
    repos: [{ name: 'api' }],
    task: { title: 'Fix typo in the footer', description },
  });
  const view = (await response.json()) as View;
  return waitForSessionStatus<View>(call, gateway, view.session_id, 'active');
};

const conversation = async (gateway: Gateway, id: string): Promise<Entry[]> =>
  ((await (await call(gateway, 'GET', `/api/sessions/${id}/messages`)).json()) as { items: Entry[] }).items;
const agentReply = (gateway: Gateway, id: string, pattern: RegExp) =>
  eventually(
    async () => (await conversation(gateway, id)).find((entry) => entry.role === 'agent' && pattern.test(entry.text)),
    `an agent reply matching ${pattern}`,
  );
const eventsOf = async (gateway: Gateway, id: string) =>
  (await gateway.eventLog.readStream(sessionStream(id))).map((stored) => stored.event);
const view = async (gateway: Gateway, id: string) =>
  (await (await call(gateway, 'GET', `/api/sessions/${id}`)).json()) as View;

test.serial(
  'the task becomes the first prompt; the write tool writes into the worktree on the builder branch; the reply and progress are recorded',
  async (t) => {
    const { gateway } = await start(t);
    const session = await createSession(gateway, 'billing', 'The footer says Copyrigth. [write repos/api/hello.txt]');
    await agentReply(gateway, session.session_id, /^Wrote repos\/api\/hello\.txt\.$/);
    const worktree = join(session.workspace_path, 'repos', 'api');
    t.is(readFileSync(join(worktree, 'hello.txt'), 'utf8'), 'written by scripted model\n');
    t.is((await operatorGit(worktree).revparse(['--abbrev-ref', 'HEAD'])).trim(), 'builder/platform-billing');
    t.regex(await operatorGit(worktree).raw(['status', '--porcelain']), /\?\? hello\.txt/);
    const events = await eventsOf(gateway, session.session_id);
    t.like(
      events.find((event) => event.type === 'AgentSessionStarted'),
      { data: { agent: 'builder', directory: session.workspace_path } },
    );
    t.like(
      events.find((event) => event.type === 'PromptSent'),
      { data: { message_id: 'task', agent: 'builder' } },
    );
    t.like(
      events.find((event) => event.type === 'ProgressReported'),
      { data: { summary: 'Wrote repos/api/hello.txt', files: ['repos/api/hello.txt'] } },
    );
    await eventually(
      async () => ((await view(gateway, session.session_id)).agent_status === 'idle' ? true : undefined),
      'the agent idle',
    );
    t.is(events.filter((event) => event.type === 'AgentReplied').length, 1, 'one reply for one turn');
    t.false(
      (await eventsOf(gateway, session.session_id)).some((event) => event.type === 'AgentTurnFailed'),
      'a turn that went well is never reported failed',
    );

    // A message from Slack is the next prompt, with the same persona.
    const sent = await call(gateway, 'POST', `/api/sessions/${session.session_id}/messages`, {
      text: 'Also add a second file [write repos/api/second.txt]',
    });
    t.is(sent.status, 202);
    await agentReply(gateway, session.session_id, /^Wrote repos\/api\/second\.txt\.$/);
    t.true(existsSync(join(worktree, 'second.txt')));
    t.deepEqual(
      (await conversation(gateway, session.session_id)).map((entry) => entry.role),
      ['agent', 'user', 'agent'],
    );
  },
);

test.serial(
  'a question is relayed with its options; the answer through the API reaches the agent, which continues with it',
  async (t) => {
    const { gateway } = await start(t);
    const session = await createSession(gateway, 'billing', 'Which year? [ask]');
    const waiting = await eventually(async () => {
      const current = await view(gateway, session.session_id);
      return current.pending_question ? current : undefined;
    }, 'a pending question');
    t.like(waiting, {
      agent_status: 'waiting_for_answer',
      pending_question: { text: 'Which year goes in the footer?', options: ['2025', '2026'] },
    });
    const answered = await call(
      gateway,
      'POST',
      `/api/sessions/${session.session_id}/questions/${waiting.pending_question!.question_id}/answer`,
      { answer: '2026' },
    );
    t.is(answered.status, 202);
    const reply = await agentReply(gateway, session.session_id, /You answered/);
    t.regex(reply.text, /2026/);
    t.is((await view(gateway, session.session_id)).pending_question, null);
  },
);

test.serial('a provider error fails the turn, visibly; the session stays active', async (t) => {
  const { gateway } = await start(t);
  const session = await createSession(gateway, 'billing', 'Try this [error]');
  const failed = await eventually(
    async () => (await eventsOf(gateway, session.session_id)).find((event) => event.type === 'AgentTurnFailed'),
    'a failed turn',
  );
  t.like(failed, { data: { error: 'APIError' } });
  t.regex((failed.data as { message: string }).message, /scripted provider error/);
  t.is((await view(gateway, session.session_id)).status, 'active');
  const entry = (await conversation(gateway, session.session_id)).find((candidate) => candidate.role === 'error');
  t.regex(
    entry?.text ?? '',
    /^The agent's turn failed: .*scripted provider error/,
    'the conversation says the turn failed, and why',
  );
});

test.serial('a todo list becomes progress with the todos', async (t) => {
  const { gateway } = await start(t);
  const session = await createSession(gateway, 'billing', 'Plan it [todo]');
  const progress = await eventually(
    async () =>
      (await eventsOf(gateway, session.session_id)).find(
        (event) => event.type === 'ProgressReported' && (event.data as { todos: unknown }).todos !== null,
      ),
    'todo progress',
  );
  t.like(progress, { data: { summary: '1 of 2 done; now: Fix the typo' } });
  await agentReply(gateway, session.session_id, /Planned the work/);
});

test.serial('pause aborts the running turn; close ends the agent and deletes its OpenCode session', async (t) => {
  const { gateway, model } = await start(t);
  const session = await createSession(gateway, 'billing', 'Take your time [slow]');
  await eventually(async () => (model.requests() > 0 ? true : undefined), 'the model streaming');
  // The session hears it from OpenCode's events: on a busy machine, after the model has its request.
  await eventually(
    async () => ((await view(gateway, session.session_id)).agent_status === 'working' ? true : undefined),
    'the session to show the agent working',
  );
  t.is((await call(gateway, 'POST', `/api/sessions/${session.session_id}/pause`)).status, 202);
  const aborted = await eventually(
    async () => (await eventsOf(gateway, session.session_id)).find((event) => event.type === 'AgentTurnFailed'),
    'the aborted turn',
  );
  t.like(aborted, { data: { error: 'MessageAbortedError' } });
  const started = (await eventsOf(gateway, session.session_id)).find((event) => event.type === 'AgentSessionStarted')!
    .data as { opencode_session_id: string };
  t.is((await call(gateway, 'POST', `/api/sessions/${session.session_id}/close`, { reason: 'done' })).status, 202);
  await eventually(
    async () => (await eventsOf(gateway, session.session_id)).find((event) => event.type === 'AgentSessionEnded'),
    'the agent ended',
  );
  const endpoint = gateway.agents!.server.endpoint!;
  const lookup = await fetch(`${endpoint.url}/session/${started.opencode_session_id}`, {
    headers: { authorization: endpoint.authorization },
  });
  t.is(lookup.status, 404, 'the OpenCode session is gone');
});

test.serial('two sessions in two workspaces work at once, each in its own worktree', async (t) => {
  const { gateway } = await start(t);
  const [first, second] = await Promise.all([
    createSession(gateway, 'billing', '[write repos/api/one.txt]'),
    createSession(gateway, 'ledger', '[write repos/api/two.txt]'),
  ]);
  await Promise.all([
    agentReply(gateway, first!.session_id, /Wrote repos\/api\/one\.txt/),
    agentReply(gateway, second!.session_id, /Wrote repos\/api\/two\.txt/),
  ]);
  t.true(existsSync(join(first!.workspace_path, 'repos', 'api', 'one.txt')));
  t.false(existsSync(join(first!.workspace_path, 'repos', 'api', 'two.txt')));
  t.true(existsSync(join(second!.workspace_path, 'repos', 'api', 'two.txt')));
});

test.serial('/ready reports the OpenCode server', async (t) => {
  const { gateway } = await start(t);
  const ready = await eventually(async () => {
    const response = await fetch(`${gateway.url}/ready`);
    const body = (await response.json()) as { status: string; checks: Record<string, string> };
    return body.status === 'ready' ? body : undefined;
  }, 'ready');
  t.is(ready.checks['opencode'], 'ok');
  const pid = gateway.agents!.server.pid!;
  process.kill(pid, 'SIGKILL');
  const downResponse = await fetch(`${gateway.url}/ready`);
  t.is(downResponse.status, 200, 'OpenCode down does not take the API out of its Service');
  const down = (await downResponse.json()) as { status: string; checks: Record<string, string> };
  t.like(down, { status: 'degraded' });
  t.regex(down.checks['opencode'] ?? '', /^error: /);
  await eventually(async () => {
    const body = (await (await fetch(`${gateway.url}/ready`)).json()) as {
      status: string;
      checks: Record<string, string>;
    };
    return body.status === 'ready' && body.checks['opencode'] === 'ok' ? true : undefined;
  }, 'ready again after the restart');
});

test.serial('the personas are OpenCode agents of the shared server', async (t) => {
  const { gateway } = await start(t);
  const session = await createSession(gateway, 'billing', 'Hello');
  const endpoint = gateway.agents!.server.endpoint!;
  const agents = (await (
    await fetch(`${endpoint.url}/agent?directory=${encodeURIComponent(session.workspace_path)}`, {
      headers: { authorization: endpoint.authorization },
    })
  ).json()) as { name: string; description?: string }[];
  for (const persona of ['architect', 'pm', 'builder', 'party-mode'])
    t.true(
      agents.some((agent) => agent.name === persona),
      persona,
    );
  t.regex(agents.find((agent) => agent.name === 'architect')!.description ?? '', /arch-decisions\.md/);
});

test.serial('a write outside the workspace asks for permission, which the policy rejects', async (t) => {
  const { gateway } = await start(t);
  const outside = join(gateway.reposRoot, '..', 'outside.txt');
  const session = await createSession(gateway, 'billing', `[write ${outside}]`);
  const decided = await eventually(
    async () => (await eventsOf(gateway, session.session_id)).find((event) => event.type === 'PermissionDecided'),
    'a permission decision',
  );
  t.like(decided, { data: { reply: 'reject', reason: 'outside the workspace' } });
  await eventually(
    async () => ((await view(gateway, session.session_id)).agent_status === 'idle' ? true : undefined),
    'the turn over',
  );
  t.false(existsSync(outside), 'nothing was written outside');
});

test.serial('a provider that stays unreachable past the retry limit: the turn is aborted and reported', async (t) => {
  const { gateway } = await start(t, { maxProviderRetries: 1 });
  const session = await createSession(gateway, 'billing', 'Hello [unreachable]');
  const failed = await eventually(
    async () =>
      (await eventsOf(gateway, session.session_id)).find(
        (event) =>
          event.type === 'AgentTurnFailed' && (event.data as { error: string }).error === 'ProviderUnreachable',
      ),
    'the unreachable provider reported',
  );
  t.regex((failed.data as { message: string }).message, /^the model provider failed 2 times/);
  t.deepEqual(
    (await conversation(gateway, session.session_id))
      .filter((entry) => entry.role === 'error')
      .map((entry) => entry.text.replace(/times: .*/s, 'times: …')),
    ["The agent's turn failed: the model provider failed 2 times: …"],
    'the conversation says the provider could not be reached',
  );
  await eventually(
    async () => ((await view(gateway, session.session_id)).agent_status === 'idle' ? true : undefined),
    'the agent idle',
  );
});

test.serial('OpenCode killed: the gateway restarts it and the agent goes on in the same session', async (t) => {
  const { gateway } = await start(t);
  const session = await createSession(gateway, 'billing', 'First [write repos/api/first.txt]');
  await agentReply(gateway, session.session_id, /Wrote repos\/api\/first\.txt/);
  const before = gateway.agents!.server.endpoint!.url;
  process.kill(gateway.agents!.server.pid!, 'SIGKILL');
  await eventually(
    async () => (gateway.agents!.server.endpoint && gateway.agents!.server.endpoint.url !== before ? true : undefined),
    'OpenCode restarted',
  );
  t.is(
    (
      await call(gateway, 'POST', `/api/sessions/${session.session_id}/messages`, {
        text: 'Then [write repos/api/then.txt]',
      })
    ).status,
    202,
  );
  await agentReply(gateway, session.session_id, /Wrote repos\/api\/then\.txt/);
  const started = (await eventsOf(gateway, session.session_id)).filter((event) => event.type === 'AgentSessionStarted');
  t.is(started.length, 1, 'the same OpenCode session, from OpenCode’s own state');
  t.true(existsSync(join(session.workspace_path, 'repos', 'api', 'then.txt')));
});
