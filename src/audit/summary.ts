import type { OpenCodeServerEvent } from '../agents/events.js';
import type { IdempotencyEvent } from '../commands/idempotency-events.js';
import type { DeploymentEvent } from '../deployments/events.js';
import type { DomainEvent } from '../events/domain-event.js';
import type { NamespaceEvent } from '../labs/events.js';
import type { WebhookEvent } from '../notifications/events.js';
import type { ProcessManagerEvent } from '../process-managers/events.js';
import type { BuilderEvent } from '../sessions/builder.js';
import type { SessionEvent } from '../sessions/events.js';

/** Every event type the gateway writes today; others (a newer version's) get their type alone. */
type KnownEvent =
  | SessionEvent
  | DeploymentEvent
  | NamespaceEvent
  | WebhookEvent
  | ProcessManagerEvent
  | IdempotencyEvent
  | BuilderEvent
  | OpenCodeServerEvent;

/** Free text (a task, a message, an error) cut to one short line. */
const quote = (text: string, max = 60): string => {
  const line = text.replace(/\s+/g, ' ').trim();
  return `"${line.length > max ? `${line.slice(0, max - 1)}…` : line}"`;
};
const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** A reaction's key is `<cause event id>:<effect>`: the effect says what was done ("workspaces state-file"). */
const reactionOf = (data: { process_manager: string; key: string }): string => {
  const effect = data.key.includes(':') ? data.key.slice(data.key.indexOf(':') + 1) : '';
  return effect === '' ? data.process_manager : `${data.process_manager} ${effect}`;
};

/**
 * What the event says, after its type: "billing (platform) …", "builder 0.91", "ingress done".
 * Undefined for a type not listed here (one another capability added since): no exhaustiveness
 * check, so a new event type never breaks the build here; it gets a generic summary instead.
 */
const detailOf = (event: KnownEvent): string | undefined => {
  switch (event.type) {
    case 'SessionCreated':
      return `${event.data.project} (${event.data.category}) ${quote(event.data.task.title)}`;
    case 'RouteSuggested':
      return `${event.data.suggested} ${event.data.confidence.toFixed(2)}${event.data.awaiting_confirmation ? ', waiting for a person' : ''}`;
    case 'RouteConfirmed':
      return `${event.data.route} by ${event.data.confirmed_by}${event.data.overridden ? ' (overriding the suggestion)' : ''}`;
    case 'WorkspaceInitialized':
      return `${event.data.repos.map((repo) => repo.name).join(', ')} on ${event.data.repos[0]?.branch ?? 'no branch'}`;
    case 'WorkspaceFailed':
    case 'SessionFailed':
      return quote(event.data.reason);
    case 'MessageSent':
      return `from ${event.data.from ?? 'unknown'} ${quote(event.data.text)}`;
    case 'QuestionAsked':
      return quote(event.data.text);
    case 'QuestionAnswered':
      return `by ${event.data.answered_by} ${quote(event.data.answer)}`;
    case 'SessionPaused':
    case 'SessionResumed':
    case 'DeploymentExpired':
      return '';
    case 'SessionClosed':
      return `${event.data.reason ? quote(event.data.reason) : 'no reason given'}${event.data.remove_workspace ? ', removing the workspace' : ''}`;
    case 'WorkspaceRemoved':
      return event.data.workspace_path;
    case 'DeploymentStatusChanged':
      return [
        event.data.deployment_id,
        event.data.status,
        event.data.step,
        event.data.reason === null ? null : quote(event.data.reason),
      ]
        .filter((part) => part !== null)
        .join(' ');
    case 'AgentSessionStarted':
      return `${event.data.agent} in ${event.data.directory}`;
    case 'PromptSent':
      return `${event.data.message_id} to ${event.data.agent}`;
    case 'AgentStatusChanged':
      return event.data.agent_status;
    case 'AgentReplied':
      return quote(event.data.text);
    case 'ProgressReported':
      return quote(event.data.summary);
    case 'AgentTurnFailed':
      return `${event.data.error} ${quote(event.data.message)}`;
    case 'PermissionDecided':
      return `${event.data.permission} ${event.data.reply}: ${event.data.reason}`;
    case 'AgentSessionEnded':
      return event.data.opencode_session_id;
    case 'OpenCodeServerStarted':
      return `pid ${event.data.pid} port ${event.data.port} version ${event.data.version}`;
    case 'OpenCodeServerExited':
      return `pid ${event.data.pid} ${event.data.signal ?? `code ${event.data.code}`}`;
    case 'DeploymentRequested':
      return `${event.data.repo}@${event.data.branch} ${event.data.commit.slice(0, 7)} into ${event.data.plan.namespace}`;
    case 'ConfirmationRequested':
      return `expires ${event.data.expires_at}`;
    case 'DeploymentConfirmed':
      return `by ${event.data.confirmed_by}`;
    case 'DeploymentRejected':
      return `by ${event.data.rejected_by}${event.data.reason ? ` ${quote(event.data.reason)}` : ''}`;
    case 'DeploymentStepStarted':
    case 'DeploymentProgressed':
      return `${event.data.step} ${quote(event.data.message)}`;
    case 'DeploymentStepCompleted':
      return `${event.data.step} ${event.data.status}`;
    case 'DeploymentSucceeded':
      return event.data.url;
    case 'DeploymentFailed':
      return `${event.data.step ?? 'before any step'} ${quote(event.data.reason)}`;
    case 'NamespaceCreated':
      return `${event.data.name} for ${event.data.project}`;
    case 'NamespaceDeletionScheduled':
      return `${event.data.name} on ${event.data.scheduled_for} by ${event.data.requested_by}`;
    case 'NamespaceDeletionRequested':
      return `${event.data.name} by ${event.data.requested_by}`;
    case 'NamespaceDeleted':
      return `${event.data.name} ${event.data.outcome}`;
    case 'WebhookDelivered':
      return `${event.data.event_type} ${event.data.status_code} after ${plural(event.data.attempts, 'attempt')}`;
    case 'WebhookParked':
      return `${event.data.webhook.event_type} ${event.data.held_behind ? `held behind ${event.data.held_behind}` : quote(event.data.last_error)}`;
    case 'WebhookRetryRequested':
      return `${event.data.webhook.event_type} by ${event.data.requested_by}`;
    case 'CheckpointSaved':
      return `${event.data.subscriber} at ${event.data.position}`;
    case 'ReactionCompleted':
      return `${reactionOf(event.data)} ${event.data.outcome}${event.data.detail ? ` ${quote(event.data.detail)}` : ''}`;
    case 'ReactionFailed':
      return `${reactionOf(event.data)} ${event.data.effect_kind} after ${plural(event.data.attempts, 'attempt')} ${quote(event.data.error)}`;
    case 'IdempotentRequestStarted':
      return `${event.data.method} ${event.data.path}`;
    case 'IdempotentResponseRecorded':
      return `status ${event.data.response.status}`;
    case 'IdempotentRequestAbandoned':
      return quote(event.data.reason);
    case 'BuilderClaimed':
    case 'BuilderReleased':
      return `${event.data.builder} for session ${event.data.session_id}`;
    default:
      return undefined;
  }
};

/**
 * One short line a person reads in a timeline: the event type and what it says, e.g.
 * "RouteSuggested builder 0.91" or "DeploymentStepCompleted ingress done". The event must have
 * been decoded by the registry (its data matches its type's codec); an unknown type shows alone.
 */
export const summarize = (event: DomainEvent): string => {
  const detail = detailOf(event as KnownEvent) ?? genericDetail(event.data);
  return detail === '' ? event.type : `${event.type} ${detail}`;
};

/** The first few plain fields of the data, leaving out times (the timeline shows when): `run_id=deploy`. */
const genericDetail = (data: unknown): string => {
  if (typeof data !== 'object' || data === null) return '';
  return Object.entries(data)
    .filter(
      ([key, value]) =>
        !key.endsWith('_at') && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'),
    )
    .slice(0, 3)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? quote(value, 40) : String(value)}`)
    .join(' ');
};
