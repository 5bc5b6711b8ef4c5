import { foldEvents } from '../commands/decider.js';
import type { EventLog } from '../events/event-log.js';
import { sessionDecider } from '../sessions/decider.js';
import { sessionStream, type SessionEvent } from '../sessions/events.js';
import type { Session } from '../sessions/session.js';

/** What the bridge needs to know of a gateway session, read from its stream. */
export interface AgentSessionContext {
  readonly state: Session;
  readonly task: { readonly title: string; readonly description: string } | undefined;
  readonly builder: string | undefined;
  readonly workspacePath: string | undefined;
  /** Where the agent works: the workspace its OpenCode session was made in. */
  readonly directory: string | undefined;
  readonly questions: ReadonlyMap<string, string>;
  /** The creating request's correlation id: the agent's doings belong to that story. */
  readonly correlationId: string;
  readonly lastEventId: string;
}

export const loadAgentSession = async (eventLog: EventLog, sessionId: string): Promise<AgentSessionContext> => {
  const history = await eventLog.readStream<SessionEvent>(sessionStream(sessionId));
  let task: AgentSessionContext['task'];
  let builder: string | undefined;
  let workspacePath: string | undefined;
  let directory: string | undefined;
  const questions = new Map<string, string>();
  for (const { event } of history) {
    if (event.type === 'SessionCreated') {
      task = event.data.task;
      builder = `${event.data.category}-${event.data.project}`;
    }
    if (event.type === 'WorkspaceInitialized') workspacePath = event.data.workspace_path;
    if (event.type === 'AgentSessionStarted') directory = event.data.directory;
    if (event.type === 'QuestionAsked') questions.set(event.data.question_id, event.data.text);
  }
  return {
    state: foldEvents(
      sessionDecider,
      history.map((stored) => stored.event),
    ),
    task,
    builder,
    workspacePath,
    directory,
    questions,
    correlationId: history[0]?.metadata.correlation_id ?? sessionStream(sessionId),
    lastEventId: history.at(-1)?.id ?? sessionStream(sessionId),
  };
};
