import test from 'ava';
import type { StoredEvent } from '../../src/events/stored-event.js';
import { agentBridge } from '../../src/agents/bridge-process.js';
import { sessionDecider } from '../../src/sessions/decider.js';
import type { SessionEvent } from '../../src/sessions/events.js';

const stored = (stream: string, event: SessionEvent): StoredEvent => ({
  id: 'e-1',
  stream,
  revision: 3,
  position: 7,
  event,
  metadata: {
    actor: 'slack',
    correlation_id: 'c',
    causation_id: 'r',
    recorded_at: '2030-01-01T00:00:00.000Z',
    hash: 'h',
  },
});

/** What the bridge asks for, in short: the effect's kind, and whether its outcome is a command for the session's decider. */
const reactionsTo = (event: SessionEvent, stream = 'session-s-1') =>
  agentBridge.react(stored(stream, event)).map((reaction) => ({
    key: reaction.key,
    stream: reaction.stream,
    kind: reaction.type === 'effect' ? reaction.effect.kind : reaction.type,
    recorded: reaction.type === 'effect' && reaction.decider === sessionDecider,
  }));

test('what the bridge does on the session is recorded through the session’s decider, one command per reaction; starting the agent and sending it the task are two', (t) => {
  const ready: SessionEvent = {
    type: 'WorkspaceInitialized',
    data: { workspace_path: '/w', repos: [], initialized_at: 'x' },
  };
  t.deepEqual(reactionsTo(ready), [
    { key: 'e-1:start-agent', stream: 'session-s-1', kind: 'start-agent', recorded: true },
  ]);
  t.deepEqual(
    reactionsTo({
      type: 'AgentSessionStarted',
      data: { opencode_session_id: 'ses_1', agent: 'builder', directory: '/w', started_at: 'x' },
    }),
    [{ key: 'e-1:send-task', stream: 'session-s-1', kind: 'send-task', recorded: true }],
  );
  t.deepEqual(reactionsTo({ type: 'MessageSent', data: { message_id: 'm-1', text: 'hi', from: null, sent_at: 'x' } }), [
    { key: 'e-1:send-prompt', stream: 'session-s-1', kind: 'send-prompt', recorded: true },
  ]);
  t.deepEqual(
    reactionsTo({
      type: 'QuestionAnswered',
      data: { question_id: 'q-1', answer: 'EUR', answered_by: 'ann', answered_at: 'x' },
    }),
    [{ key: 'e-1:answer-question', stream: 'session-s-1', kind: 'answer-question', recorded: true }],
  );
  t.deepEqual(
    reactionsTo({
      type: 'SessionClosed',
      data: { builder: 'platform-billing', repos: [], reason: null, remove_workspace: false, closed_at: 'x' },
    }),
    [{ key: 'e-1:end-agent', stream: 'session-s-1', kind: 'end-agent', recorded: true }],
  );
});

test('what records nothing on the session stays a plain effect; other streams and other events ask for nothing', (t) => {
  t.deepEqual(
    reactionsTo({
      type: 'PromptSent',
      data: { message_id: 'task', opencode_message_id: 'msg_1', agent: 'builder', sent_at: 'x' },
    }),
    [{ key: 'e-1:reconcile', stream: 'session-s-1', kind: 'reconcile', recorded: false }],
  );
  t.deepEqual(reactionsTo({ type: 'SessionPaused', data: { paused_at: 'x' } }), [
    { key: 'e-1:abort-turn', stream: 'session-s-1', kind: 'abort-turn', recorded: false },
  ]);
  t.deepEqual(reactionsTo({ type: 'AgentReplied', data: { message_id: 'msg_2', text: 'Done.', replied_at: 'x' } }), []);
  t.deepEqual(
    reactionsTo(
      { type: 'MessageSent', data: { message_id: 'm-1', text: 'hi', from: null, sent_at: 'x' } },
      'deployment-d-1',
    ),
    [],
  );
});
