import * as t from 'io-ts';
import { defineEvent, jsonCodec, type EventOf } from '../events/domain-event.js';

/**
 * What the OpenCode bridge (src/agents) records on a session's stream: part of the session's
 * history, so defined here, where the session's events are. OpenCode's own ids (`ses_…`, `msg_…`,
 * `que_…`, `per_…`, `prt_…`) are kept, so a reconciliation after a restart can tell what is
 * recorded already.
 */
const AgentSessionStarted = defineEvent(
  'AgentSessionStarted',
  jsonCodec(t.type({ opencode_session_id: t.string, agent: t.string, directory: t.string, started_at: t.string })),
);
/** A person's message (or the task, `message_id: "task"`) handed to the agent. */
const PromptSent = defineEvent(
  'PromptSent',
  jsonCodec(t.type({ message_id: t.string, opencode_message_id: t.string, agent: t.string, sent_at: t.string })),
);
const AgentStatusChanged = defineEvent(
  'AgentStatusChanged',
  jsonCodec(t.type({ agent_status: t.keyof({ working: null, idle: null }), changed_at: t.string })),
);
/** The final text of one of the agent's turns. */
const AgentReplied = defineEvent(
  'AgentReplied',
  jsonCodec(t.type({ message_id: t.string, text: t.string, replied_at: t.string })),
);
const Todo = t.type({ content: t.string, status: t.string, priority: t.string });
const ProgressReported = defineEvent(
  'ProgressReported',
  jsonCodec(
    t.type({
      progress_id: t.string,
      summary: t.string,
      todos: t.union([t.array(Todo), t.null]),
      files: t.array(t.string),
      reported_at: t.string,
    }),
  ),
);
/** A turn that ended in an error (provider refused, unreachable beyond the retry limit, aborted); `message_id` is OpenCode's assistant message. */
const AgentTurnFailed = defineEvent(
  'AgentTurnFailed',
  jsonCodec(t.type({ message_id: t.string, error: t.string, message: t.string, failed_at: t.string })),
);
const PermissionDecided = defineEvent(
  'PermissionDecided',
  jsonCodec(
    t.type({
      permission_id: t.string,
      permission: t.string,
      patterns: t.array(t.string),
      reply: t.keyof({ once: null, reject: null }),
      reason: t.string,
      decided_at: t.string,
    }),
  ),
);
const AgentSessionEnded = defineEvent(
  'AgentSessionEnded',
  jsonCodec(t.type({ opencode_session_id: t.string, ended_at: t.string })),
);

export type AgentEvent =
  | EventOf<typeof AgentSessionStarted>
  | EventOf<typeof PromptSent>
  | EventOf<typeof AgentStatusChanged>
  | EventOf<typeof AgentReplied>
  | EventOf<typeof ProgressReported>
  | EventOf<typeof AgentTurnFailed>
  | EventOf<typeof PermissionDecided>
  | EventOf<typeof AgentSessionEnded>;

export const agentEventDefinitions = [
  AgentSessionStarted,
  PromptSent,
  AgentStatusChanged,
  AgentReplied,
  ProgressReported,
  AgentTurnFailed,
  PermissionDecided,
  AgentSessionEnded,
] as const;
