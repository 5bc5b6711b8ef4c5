import type { StoredEvent } from '../events/stored-event.js';
import type { SessionEvent } from '../sessions/events.js';
import type { WebhookPayload } from './events.js';

const SESSION_STREAM = /^session-(.+)$/;

/**
 * The contract's webhook for a session event, or null when the event is not news for Slack.
 * The causing event's id is the webhook's `event_id`, so a redelivery carries the same id.
 */
export const webhookFor = (stored: StoredEvent): WebhookPayload | null => {
  const match = SESSION_STREAM.exec(stored.stream);
  if (!match) return null;
  const event = stored.event as SessionEvent;
  const base = { event_id: stored.id, occurred_at: stored.metadata.recorded_at, session_id: match[1]! };
  switch (event.type) {
    case 'RouteSuggested':
      // Only a suggestion the gateway did not confirm itself asks a person.
      if (event.data.awaiting_confirmation !== true) return null;
      return { ...base, event_type: 'routing_suggestion', data: { suggested: event.data.suggested, confidence: event.data.confidence, reason: event.data.reason, signals: event.data.signals } };
    case 'WorkspaceInitialized':
      return {
        ...base,
        event_type: 'progress',
        data: { summary: `Workspace ready: ${event.data.repos.map((repo) => `${repo.name} on ${repo.branch}`).join(', ')}`, workspace_path: event.data.workspace_path },
      };
    case 'WorkspaceFailed':
      return { ...base, event_type: 'session_closed', data: { status: 'failed', reason: `The workspace could not be prepared: ${event.data.reason}` } };
    case 'SessionFailed':
      return { ...base, event_type: 'session_closed', data: { status: 'failed', reason: event.data.reason } };
    case 'SessionClosed':
      return { ...base, event_type: 'session_closed', data: { status: 'closed', reason: event.data.reason, remove_workspace: event.data.remove_workspace } };
    case 'QuestionAsked':
      return { ...base, event_type: 'question', data: { question_id: event.data.question_id, text: event.data.text, options: event.data.options } };
    case 'AgentReplied':
      return { ...base, event_type: 'agent_reply', data: { message_id: event.data.message_id, text: event.data.text } };
    case 'ProgressReported':
      return { ...base, event_type: 'progress', data: { summary: event.data.summary, todos: event.data.todos, files: event.data.files } };
    case 'AgentTurnFailed':
      return { ...base, event_type: 'progress', data: { summary: `The agent's turn failed: ${event.data.message}`, error: event.data.error } };
    case 'AgentSessionStarted':
    case 'PromptSent':
    case 'AgentStatusChanged':
    case 'PermissionDecided':
    case 'AgentSessionEnded':
    case 'SessionCreated':
    case 'RouteConfirmed':
    case 'MessageSent':
    case 'QuestionAnswered':
    case 'SessionPaused':
    case 'SessionResumed':
    case 'WorkspaceRemoved':
      return null;
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
};
