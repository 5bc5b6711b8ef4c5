import { sessionIdOf, type SessionEvent } from '../sessions/events.js';
import type { DocumentProjection } from '../projections/projection.js';

/** A running agent: its OpenCode session and the gateway session it works for. */
export interface AgentSessionView {
  readonly opencode_session_id: string;
  readonly session_id: string;
  readonly directory: string;
}

/** Running agents by OpenCode session id, so an OpenCode event finds its gateway session. */
export const agentSessions: DocumentProjection<AgentSessionView> = {
  name: 'agent-sessions',
  documentIdsOf: (stored) => {
    const event = stored.event as SessionEvent;
    return event.type === 'AgentSessionStarted' || event.type === 'AgentSessionEnded'
      ? [event.data.opencode_session_id]
      : [];
  },
  evolve: (_view, stored) => {
    const event = stored.event as SessionEvent;
    const sessionId = sessionIdOf(stored.stream);
    if (event.type !== 'AgentSessionStarted' || sessionId === undefined) return undefined;
    return {
      opencode_session_id: event.data.opencode_session_id,
      session_id: sessionId,
      directory: event.data.directory,
    };
  },
};
