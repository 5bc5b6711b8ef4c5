import type { StoredEvent } from '../events/stored-event.js';
import { sessionIdOf, type SessionEvent } from '../sessions/events.js';
import type { WebhookPayload } from './events.js';
import { pushFailedSummary, sessionErrorOf } from '../sessions/session-error.js';

/** What every webhook of one stored event shares: the causing event's id, when it was recorded, the session. */
type WebhookBase = Omit<WebhookPayload, 'event_type' | 'data'>;

type DeploymentNews = Extract<SessionEvent, { type: 'DeploymentStatusChanged' }>['data'];

/** The contract's deployment webhooks; statuses Slack need not hear about (confirmed, deploying, rejected) are none. */
const deploymentWebhook = (base: WebhookBase, news: DeploymentNews): WebhookPayload | null => {
  const withId = { ...base, deployment_id: news.deployment_id };
  switch (news.status) {
    case 'awaiting_confirmation':
      return {
        ...withId,
        event_type: 'deployment_confirmation_requested',
        data: { plan: news.plan, expires_at: news.expires_at },
      };
    case 'succeeded':
      // Where the work is, beside where it runs: the branches pushed (workspace.push), empty when none was.
      return { ...withId, event_type: 'deployment_ready', data: { url: news.url, repos: news.repos ?? [] } };
    case 'failed':
      return { ...withId, event_type: 'deployment_failed', data: { step: news.step, reason: news.reason } };
    case 'expired':
      // Nobody answered in time: the thread learns the plan is void. A rejection was the person's own answer.
      return {
        ...withId,
        event_type: 'deployment_failed',
        data: { status: 'expired', step: null, reason: news.reason },
      };
    default:
      return null;
  }
};

type SessionEventOfType<Type extends SessionEvent['type']> = Extract<SessionEvent, { type: Type }>;

/**
 * The webhook of each session event type, or null when that type is not news for Slack. Every
 * type must have an entry (the mapped type requires it), so a new session event fails the build
 * here until someone decides whether Slack hears of it.
 */
type WebhookOfType = {
  readonly [Type in SessionEvent['type']]: (
    base: WebhookBase,
    event: SessionEventOfType<Type>,
  ) => WebhookPayload | null;
};

const notNews = (): null => null;

const webhookOfType: WebhookOfType = {
  RouteSuggested: (base, event) => {
    // Only a suggestion the gateway did not confirm itself asks a person.
    if (event.data.awaiting_confirmation !== true) return null;
    return {
      ...base,
      event_type: 'routing_suggestion',
      data: {
        suggested: event.data.suggested,
        confidence: event.data.confidence,
        reason: event.data.reason,
        signals: event.data.signals,
      },
    };
  },
  WorkspaceInitialized: (base, event) => ({
    ...base,
    event_type: 'progress',
    data: {
      summary: `Workspace ready: ${event.data.repos.map((repo) => `${repo.name} on ${repo.branch}`).join(', ')}`,
      workspace_path: event.data.workspace_path,
    },
  }),
  // A session ends in one failure at most (the decider refuses a second), so session_failed goes once; session_closed is for a close.
  WorkspaceFailed: (base, event) => ({
    ...base,
    event_type: 'session_failed',
    data: { error: sessionErrorOf(event) },
  }),
  SessionFailed: (base, event) => ({ ...base, event_type: 'session_failed', data: { error: sessionErrorOf(event) } }),
  SessionClosed: (base, event) => ({
    ...base,
    event_type: 'session_closed',
    data: { status: 'closed', reason: event.data.reason, remove_workspace: event.data.remove_workspace },
  }),
  QuestionAsked: (base, event) => ({
    ...base,
    event_type: 'question',
    data: { question_id: event.data.question_id, text: event.data.text, options: event.data.options },
  }),
  AgentReplied: (base, event) => ({
    ...base,
    event_type: 'agent_reply',
    data: { message_id: event.data.message_id, text: event.data.text },
  }),
  ProgressReported: (base, event) => ({
    ...base,
    event_type: 'progress',
    data: { summary: event.data.summary, todos: event.data.todos, files: event.data.files },
  }),
  AgentTurnFailed: (base, event) => ({
    ...base,
    event_type: 'agent_error',
    data: { message_id: event.data.message_id, error: event.data.error, message: event.data.message },
  }),
  DeploymentStatusChanged: (base, event) => deploymentWebhook(base, event.data),
  DeploymentTestsReported: (base, event) => ({
    ...base,
    deployment_id: event.data.deployment_id,
    event_type: 'test_results',
    data: { run_id: event.data.run_id, ...event.data.tests },
  }),
  // A failed push is news: the work did not leave the machine. A success shows on the session view and in deployment_ready.
  BranchPushFailed: (base, event) => ({
    ...base,
    event_type: 'progress',
    data: {
      summary: pushFailedSummary(event),
    },
  }),
  BranchPushed: notNews,
  AgentSessionStarted: notNews,
  PromptSent: notNews,
  AgentStatusChanged: notNews,
  PermissionDecided: notNews,
  AgentSessionEnded: notNews,
  SessionCreated: notNews,
  RouteConfirmed: notNews,
  MessageSent: notNews,
  QuestionAnswered: notNews,
  SessionPaused: notNews,
  SessionResumed: notNews,
  WorkspaceRemoved: notNews,
};

/**
 * The table's entry for the event's own type, applied. Generic over the type so that TypeScript
 * pairs the entry with the event it takes, with no cast.
 */
const webhookOf = <Type extends SessionEvent['type']>(
  type: Type,
  base: WebhookBase,
  event: SessionEventOfType<Type>,
): WebhookPayload | null => webhookOfType[type](base, event);

/**
 * The contract's webhook for a session event, or null when the event is not news for Slack.
 * The causing event's id is the webhook's `event_id`, so a redelivery carries the same id.
 * It depends on the event alone, so counting a session's webhooks (their `sequence`) always
 * gives the same numbers. The envelope's `sequence` and `requested_by` are added as it is sent.
 */
export const webhookFor = (stored: StoredEvent): WebhookPayload | null => {
  const sessionId = sessionIdOf(stored.stream);
  if (sessionId === undefined) return null;
  const event = stored.event as SessionEvent;
  // A type the table does not know (not a session event at all) is no news either.
  if (!Object.hasOwn(webhookOfType, event.type)) return null;
  const base = { event_id: stored.id, occurred_at: stored.metadata.recorded_at, session_id: sessionId };
  return webhookOf(event.type, base, event);
};
