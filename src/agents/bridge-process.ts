import type { OpencodeClient } from '@opencode-ai/sdk/v2';
import type { EventLog } from '../events/event-log.js';
import type { StoredEvent } from '../events/stored-event.js';
import {
  effectThenCommand,
  type EffectHandlers,
  type ProcessManager,
  type Reaction,
} from '../process-managers/process-manager.js';
import { sessionDecider, type SessionCommand } from '../sessions/decider.js';
import { sessionIdOf, type SessionEvent } from '../sessions/events.js';
import { loadAgentSession, type AgentSessionContext } from './agent-session.js';
import { newOpenCodeMessageId } from './message-ids.js';
import { must, mustSucceed, openCodeClient } from './opencode-client.js';
import type { OpenCodeEndpoint } from './opencode-server.js';

export type AgentEffect =
  | { readonly kind: 'start-agent'; readonly sessionId: string }
  | { readonly kind: 'send-task'; readonly sessionId: string }
  | { readonly kind: 'send-prompt'; readonly sessionId: string; readonly messageId: string; readonly text: string }
  | {
      readonly kind: 'answer-question';
      readonly sessionId: string;
      readonly questionId: string;
      readonly answer: string;
    }
  | { readonly kind: 'reconcile'; readonly sessionId: string }
  | { readonly kind: 'abort-turn'; readonly sessionId: string }
  | { readonly kind: 'end-agent'; readonly sessionId: string };

/**
 * The agent bridge's process manager, pure: a session that may have become active starts its
 * agent, a started agent gets the task, a message becomes a prompt, an answer goes back to the
 * question, a prompt sent has OpenCode looked at, a pause aborts the turn, and an ended session
 * ends its agent. What an effect did on the session is a command for the session's decider (one
 * command per reaction: starting the agent and sending it the task are two). What OpenCode does
 * in return is recorded by the reconciler (agent-reconciler.ts).
 */
export const agentBridge: ProcessManager<AgentEffect> = {
  name: 'agents',
  react: (stored: StoredEvent): readonly Reaction<AgentEffect>[] => {
    const sessionId = sessionIdOf(stored.stream);
    if (sessionId === undefined) return [];
    const event = stored.event as SessionEvent;
    /** An effect that records nothing on the session. */
    const effect = (value: AgentEffect): Reaction<AgentEffect>[] => [
      { type: 'effect', key: `${stored.id}:${value.kind}`, stream: stored.stream, effect: value },
    ];
    /** An effect whose outcome is a command for the session. */
    const recorded = (value: AgentEffect): Reaction<AgentEffect>[] => [
      effectThenCommand<AgentEffect, SessionCommand>(
        `${stored.id}:${value.kind}`,
        stored.stream,
        sessionDecider,
        value,
      ),
    ];
    switch (event.type) {
      // Any of these may be the moment the session is active with no agent yet.
      case 'RouteConfirmed':
      case 'WorkspaceInitialized':
      case 'SessionResumed':
        return recorded({ kind: 'start-agent', sessionId });
      case 'AgentSessionStarted':
        return recorded({ kind: 'send-task', sessionId });
      case 'MessageSent':
        return recorded({ kind: 'send-prompt', sessionId, messageId: event.data.message_id, text: event.data.text });
      case 'QuestionAnswered':
        return recorded({
          kind: 'answer-question',
          sessionId,
          questionId: event.data.question_id,
          answer: event.data.answer,
        });
      // Once the prompt is recorded the reconciler can find the session: OpenCode's first news of the turn is not missed.
      case 'PromptSent':
        return effect({ kind: 'reconcile', sessionId });
      case 'SessionPaused':
        return effect({ kind: 'abort-turn', sessionId });
      case 'SessionClosed':
      case 'SessionFailed':
        return recorded({ kind: 'end-agent', sessionId });
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
  readonly clock?: () => Date;
}

/** What an effect recorded through the decider answers: its command, or nothing to record. */
type Recorded = { readonly command: SessionCommand } | readonly [];

/** What every effect handler of the bridge works with. */
interface BridgeContext {
  readonly eventLog: EventLog;
  /** A client for the server's current endpoint, asked anew for each call: it changes with every restart. */
  readonly client: () => OpencodeClient;
  readonly clock: () => Date;
  /** Asks the reconciler to look at a session now. */
  readonly reconcile: (sessionId: string) => void;
}

/** The request of one kind of effect. */
type EffectOf<Kind extends AgentEffect['kind']> = Extract<AgentEffect, { kind: Kind }>;

/** The work was not needed after all: the reaction ends with nothing recorded on the session. */
const recordNothing = (): readonly [] => [];

/** Sends a prompt once: a message already in OpenCode (a retry after a crash) is only recorded. */
const sendPrompt = async (
  bridge: BridgeContext,
  sessionId: string,
  messageId: string,
  text: (session: AgentSessionContext) => string,
): Promise<Recorded> => {
  const session = await loadAgentSession(bridge.eventLog, sessionId);
  const { state } = session;
  if (
    state.status === 'none' ||
    state.agentSessionId === null ||
    state.recorded.has(`prompt:${messageId}`) ||
    !session.directory
  )
    return recordNothing();
  const agent = state.confirmed ?? 'builder';
  const messages = await must(
    bridge.client().session.messages({ sessionID: state.agentSessionId, directory: session.directory }),
    'session.messages',
  );
  const already = messages.find(
    (message) =>
      message.info.role === 'user' &&
      message.parts.some((part) => part.type === 'text' && part.metadata?.['gateway_message_id'] === messageId),
  );
  let opencodeMessageId = already?.info.id;
  if (!opencodeMessageId) {
    opencodeMessageId = newOpenCodeMessageId();
    await mustSucceed(
      bridge.client().session.promptAsync({
        sessionID: state.agentSessionId,
        directory: session.directory,
        messageID: opencodeMessageId,
        agent,
        parts: [{ type: 'text', text: text(session), metadata: { gateway_message_id: messageId } }],
      }),
      'session.prompt_async',
    );
  }
  return { command: { type: 'RecordPromptSent', messageId, opencodeMessageId, agent, now: bridge.clock() } };
};

const startAgent = async (bridge: BridgeContext, request: EffectOf<'start-agent'>): Promise<Recorded> => {
  const session = await loadAgentSession(bridge.eventLog, request.sessionId);
  const { state } = session;
  if (
    state.status !== 'active' ||
    state.agentSessionId !== null ||
    !session.workspacePath ||
    !session.task ||
    !state.confirmed
  )
    return recordNothing();
  const directory = session.workspacePath;
  // A crash after creating it but before recording it left one behind: reuse it.
  const existing = (await must(bridge.client().session.list({ directory }), 'session.list')).find(
    (candidate) => candidate.metadata?.['gateway_session_id'] === request.sessionId,
  );
  const created =
    existing ??
    (await must(
      bridge.client().session.create({
        directory,
        title: `${session.builder}: ${session.task.title}`.slice(0, 100),
        metadata: { gateway_session_id: request.sessionId },
      }),
      'session.create',
    ));
  return {
    command: {
      type: 'RecordAgentSessionStarted',
      opencodeSessionId: created.id,
      agent: state.confirmed,
      directory,
      now: bridge.clock(),
    },
  };
};

const sendTask = (bridge: BridgeContext, request: EffectOf<'send-task'>): Promise<Recorded> =>
  sendPrompt(bridge, request.sessionId, 'task', (session) =>
    session.task ? `${session.task.title}\n\n${session.task.description}`.trim() : '',
  );

const sendMessage = (bridge: BridgeContext, request: EffectOf<'send-prompt'>): Promise<Recorded> =>
  sendPrompt(bridge, request.sessionId, request.messageId, () => request.text);

const answerQuestion = async (bridge: BridgeContext, request: EffectOf<'answer-question'>): Promise<Recorded> => {
  const session = await loadAgentSession(bridge.eventLog, request.sessionId);
  if (!session.directory) return recordNothing();
  const replied = await bridge.client().question.reply({
    requestID: request.questionId,
    directory: session.directory,
    answers: [[request.answer]],
  });
  if (replied.error === undefined) {
    bridge.reconcile(request.sessionId);
    return recordNothing();
  }
  // The question is gone (OpenCode restarted, or the turn was aborted): the answer still reaches the agent, as a message.
  const question = session.questions.get(request.questionId) ?? 'your question';
  return sendPrompt(
    bridge,
    request.sessionId,
    `answer:${request.questionId}`,
    () => `The answer to "${question}" is: ${request.answer}`,
  );
};

const reconcileNow = async (bridge: BridgeContext, request: EffectOf<'reconcile'>): Promise<readonly []> => {
  bridge.reconcile(request.sessionId);
  return [];
};

const abortTurn = async (bridge: BridgeContext, request: EffectOf<'abort-turn'>): Promise<readonly []> => {
  const session = await loadAgentSession(bridge.eventLog, request.sessionId);
  if (session.state.status === 'none' || session.state.agentSessionId === null) return [];
  await must(
    bridge.client().session.abort({ sessionID: session.state.agentSessionId, directory: session.directory }),
    'session.abort',
  );
  bridge.reconcile(request.sessionId);
  return [];
};

const endAgent = async (bridge: BridgeContext, request: EffectOf<'end-agent'>): Promise<Recorded> => {
  const session = await loadAgentSession(bridge.eventLog, request.sessionId);
  if (session.state.status === 'none' || session.state.agentSessionId === null) return recordNothing();
  const sessionID = session.state.agentSessionId;
  await bridge.client().session.abort({ sessionID, directory: session.directory });
  const deleted = await bridge.client().session.delete({ sessionID, directory: session.directory });
  if (deleted.error !== undefined && deleted.response?.status !== 404)
    throw new Error(`OpenCode session.delete failed (${deleted.response?.status})`);
  return { command: { type: 'RecordAgentSessionEnded', opencodeSessionId: sessionID, now: bridge.clock() } };
};

export const agentBridgeEffects = (options: AgentBridgeOptions): EffectHandlers<AgentEffect> => {
  const bridge: BridgeContext = {
    eventLog: options.eventLog,
    client: () => openCodeClient(options.endpoint()),
    clock: options.clock ?? (() => new Date()),
    reconcile: options.reconcile,
  };
  return {
    'start-agent': (request) => startAgent(bridge, request),
    'send-task': (request) => sendTask(bridge, request),
    'send-prompt': (request) => sendMessage(bridge, request),
    'answer-question': (request) => answerQuestion(bridge, request),
    reconcile: (request) => reconcileNow(bridge, request),
    'abort-turn': (request) => abortTurn(bridge, request),
    'end-agent': (request) => endAgent(bridge, request),
  };
};
