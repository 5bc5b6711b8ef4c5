import * as E from 'fp-ts/lib/Either.js';
import type { Logger } from 'pino';
import { handleCommand } from '../commands/handle-command.js';
import type { EventLog } from '../events/event-log.js';
import type { StoredEvent } from '../events/stored-event.js';
import type { EffectHandlers, ProcessManager, Reaction } from '../process-managers/process-manager.js';
import type { SessionCommand } from '../sessions/decide.js';
import { sessionDecider } from '../sessions/decide.js';
import { sessionStream, type SessionEvent } from '../sessions/events.js';
import { loadAgentSession } from './agent-session.js';
import { newOpenCodeMessageId } from './message-ids.js';
import { must, mustSucceed, openCodeClient } from './opencode-client.js';
import type { OpenCodeEndpoint } from './opencode-server.js';
import type { PlannedCommand } from './reconcile.js';

export type AgentEffect =
  | { readonly kind: 'start-agent'; readonly sessionId: string }
  | { readonly kind: 'send-prompt'; readonly sessionId: string; readonly messageId: string; readonly text: string }
  | { readonly kind: 'answer-question'; readonly sessionId: string; readonly questionId: string; readonly answer: string }
  | { readonly kind: 'abort-turn'; readonly sessionId: string }
  | { readonly kind: 'end-agent'; readonly sessionId: string };

const SESSION_STREAM = /^session-(.+)$/;

/**
 * The agent bridge's process manager, pure: a session that may have become active starts its
 * agent, a message becomes a prompt, an answer goes back to the question, a pause aborts the
 * turn, and an ended session ends its agent. What OpenCode does in return is recorded by the
 * reconciler (agent-reconciler.ts).
 */
export const agentBridge: ProcessManager<AgentEffect> = {
  name: 'agents',
  react: (stored: StoredEvent): readonly Reaction<AgentEffect>[] => {
    const match = SESSION_STREAM.exec(stored.stream);
    if (!match) return [];
    const sessionId = match[1]!;
    const event = stored.event as SessionEvent;
    const effect = (value: AgentEffect): Reaction<AgentEffect>[] => [{ type: 'effect', key: `${stored.id}:${value.kind}`, stream: stored.stream, effect: value }];
    switch (event.type) {
      // Any of these may be the moment the session is active with no agent yet.
      case 'RouteConfirmed':
      case 'WorkspaceInitialized':
      case 'SessionResumed':
        return effect({ kind: 'start-agent', sessionId });
      case 'MessageSent':
        return effect({ kind: 'send-prompt', sessionId, messageId: event.data.message_id, text: event.data.text });
      case 'QuestionAnswered':
        return effect({ kind: 'answer-question', sessionId, questionId: event.data.question_id, answer: event.data.answer });
      case 'SessionPaused':
        return effect({ kind: 'abort-turn', sessionId });
      case 'SessionClosed':
      case 'SessionFailed':
        return effect({ kind: 'end-agent', sessionId });
      default:
        return [];
    }
  },
};

export interface AgentBridgeOptions {
  readonly eventLog: EventLog;
  /** The shared server's current endpoint (undefined while it restarts: effects throw and are retried). */
  readonly endpoint: () => OpenCodeEndpoint | undefined;
  /** Asks the reconciler to look at a session now. */
  readonly reconcile: (sessionId: string) => void;
  readonly logger: Logger;
  readonly clock?: () => Date;
}

/** Runs one of the bridge's commands on a session; a refusal (the session moved on) is logged, not thrown. */
export const recordOnSession = async (
  options: Pick<AgentBridgeOptions, 'eventLog' | 'logger' | 'clock'>,
  sessionId: string,
  command: PlannedCommand,
  context: { correlationId: string; causationId: string },
): Promise<void> => {
  const now = (options.clock ?? (() => new Date()))();
  const result = await handleCommand(options.eventLog, sessionStream(sessionId), sessionDecider, { ...command, now } as SessionCommand, { actor: 'pm:agents', ...context, now });
  if (E.isLeft(result)) options.logger.debug({ session_id: sessionId, command: command.type, refusal: result.left }, 'the session refused a bridge record');
};

export const agentBridgeEffects = (options: AgentBridgeOptions): EffectHandlers<AgentEffect> => {
  const client = () => openCodeClient(options.endpoint());
  const record = (sessionId: string, command: PlannedCommand, correlationId: string, causationId: string) => recordOnSession(options, sessionId, command, { correlationId, causationId });

  /** Sends a prompt once: a message already in OpenCode (a retry after a crash) is only recorded. */
  const sendPrompt = async (sessionId: string, messageId: string, text: string, causationId: string): Promise<void> => {
    const session = await loadAgentSession(options.eventLog, sessionId);
    const { state } = session;
    if (state.status === 'none' || state.agentSessionId === null || state.recorded.has(`prompt:${messageId}`) || !session.directory) return;
    const agent = state.confirmed ?? 'builder';
    const messages = await must(client().session.messages({ sessionID: state.agentSessionId, directory: session.directory }), 'session.messages');
    const already = messages.find((message) => message.info.role === 'user' && message.parts.some((part) => part.type === 'text' && part.metadata?.['gateway_message_id'] === messageId));
    let opencodeMessageId = already?.info.id;
    if (!opencodeMessageId) {
      opencodeMessageId = newOpenCodeMessageId();
      await mustSucceed(
        client().session.promptAsync({
          sessionID: state.agentSessionId,
          directory: session.directory,
          messageID: opencodeMessageId,
          agent,
          parts: [{ type: 'text', text, metadata: { gateway_message_id: messageId } }],
        }),
        'session.prompt_async',
      );
    }
    await record(sessionId, { type: 'RecordPromptSent', messageId, opencodeMessageId, agent }, session.correlationId, causationId);
    await record(sessionId, { type: 'RecordAgentStatus', agentStatus: 'working' }, session.correlationId, causationId);
  };

  return {
    'start-agent': async (request, context) => {
      const session = await loadAgentSession(options.eventLog, request.sessionId);
      const { state } = session;
      if (state.status !== 'active' || state.agentSessionId !== null || !session.workspacePath || !session.task || !state.confirmed) return [];
      const directory = session.workspacePath;
      // A crash after creating it but before recording it left one behind: reuse it.
      const existing = (await must(client().session.list({ directory }), 'session.list')).find((candidate) => candidate.metadata?.['gateway_session_id'] === request.sessionId);
      const created =
        existing ??
        (await must(client().session.create({ directory, title: `${session.builder}: ${session.task.title}`.slice(0, 100), metadata: { gateway_session_id: request.sessionId } }), 'session.create'));
      await record(request.sessionId, { type: 'RecordAgentSessionStarted', opencodeSessionId: created.id, agent: state.confirmed, directory }, session.correlationId, context.cause.id);
      await sendPrompt(request.sessionId, 'task', `${session.task.title}\n\n${session.task.description}`.trim(), context.cause.id);
      options.reconcile(request.sessionId);
      return [];
    },
    'send-prompt': async (request, context) => {
      await sendPrompt(request.sessionId, request.messageId, request.text, context.cause.id);
      options.reconcile(request.sessionId);
      return [];
    },
    'answer-question': async (request, context) => {
      const session = await loadAgentSession(options.eventLog, request.sessionId);
      if (!session.directory) return [];
      const replied = await client().question.reply({ requestID: request.questionId, directory: session.directory, answers: [[request.answer]] });
      if (replied.error !== undefined) {
        // The question is gone (OpenCode restarted, or the turn was aborted): the answer still reaches the agent, as a message.
        const question = session.questions.get(request.questionId) ?? 'your question';
        await sendPrompt(request.sessionId, `answer:${request.questionId}`, `The answer to "${question}" is: ${request.answer}`, context.cause.id);
      }
      options.reconcile(request.sessionId);
      return [];
    },
    'abort-turn': async (request) => {
      const session = await loadAgentSession(options.eventLog, request.sessionId);
      if (session.state.status === 'none' || session.state.agentSessionId === null) return [];
      await must(client().session.abort({ sessionID: session.state.agentSessionId, directory: session.directory }), 'session.abort');
      options.reconcile(request.sessionId);
      return [];
    },
    'end-agent': async (request, context) => {
      const session = await loadAgentSession(options.eventLog, request.sessionId);
      if (session.state.status === 'none' || session.state.agentSessionId === null) return [];
      const sessionID = session.state.agentSessionId;
      await client().session.abort({ sessionID, directory: session.directory });
      const deleted = await client().session.delete({ sessionID, directory: session.directory });
      if (deleted.error !== undefined && deleted.response?.status !== 404) throw new Error(`OpenCode session.delete failed (${deleted.response?.status})`);
      await record(request.sessionId, { type: 'RecordAgentSessionEnded', opencodeSessionId: sessionID }, session.correlationId, context.cause.id);
      return [];
    },
  };
};
