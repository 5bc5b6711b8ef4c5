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

type KnownEventOfType<Type extends KnownEvent['type']> = Extract<KnownEvent, { type: Type }>;

/**
 * What an event of each type says, after its type: "billing (platform) …", "builder 0.91",
 * "ingress done". Every entry is optional: a type not listed here (one another capability added
 * since) has no exhaustiveness check, so a new event type never breaks the build here; it gets a
 * generic summary instead.
 */
type DetailOfType = {
  readonly [Type in KnownEvent['type']]?: (event: KnownEventOfType<Type>) => string;
};

/** Event types whose type says it all. */
const nothingMore = (): string => '';
/** Details shared by event types whose data has the same fields. */
const reasonQuoted = (event: { data: { reason: string } }): string => quote(event.data.reason);
const stepAndMessage = (event: { data: { step: string; message: string } }): string =>
  `${event.data.step} ${quote(event.data.message)}`;
const builderAndSession = (event: { data: { builder: string; session_id: string } }): string =>
  `${event.data.builder} for session ${event.data.session_id}`;

const detailOfType: DetailOfType = {
  SessionCreated: (event) => `${event.data.project} (${event.data.category}) ${quote(event.data.task.title)}`,
  RouteSuggested: (event) =>
    `${event.data.suggested} ${event.data.confidence.toFixed(2)}${event.data.awaiting_confirmation ? ', waiting for a person' : ''}`,
  RouteConfirmed: (event) =>
    `${event.data.route} by ${event.data.confirmed_by}${event.data.overridden ? ' (overriding the suggestion)' : ''}`,
  WorkspaceInitialized: (event) =>
    `${event.data.repos.map((repo) => repo.name).join(', ')} on ${event.data.repos[0]?.branch ?? 'no branch'}`,
  WorkspaceFailed: reasonQuoted,
  SessionFailed: reasonQuoted,
  MessageSent: (event) => `from ${event.data.from ?? 'unknown'} ${quote(event.data.text)}`,
  QuestionAsked: (event) => quote(event.data.text),
  QuestionAnswered: (event) => `by ${event.data.answered_by} ${quote(event.data.answer)}`,
  SessionPaused: nothingMore,
  SessionResumed: nothingMore,
  DeploymentExpired: nothingMore,
  SessionClosed: (event) =>
    `${event.data.reason ? quote(event.data.reason) : 'no reason given'}${event.data.remove_workspace ? ', removing the workspace' : ''}`,
  WorkspaceRemoved: (event) => event.data.workspace_path,
  DeploymentStatusChanged: (event) =>
    [
      event.data.deployment_id,
      event.data.status,
      event.data.step,
      event.data.reason === null ? null : quote(event.data.reason),
    ]
      .filter((part) => part !== null)
      .join(' '),
  AgentSessionStarted: (event) => `${event.data.agent} in ${event.data.directory}`,
  PromptSent: (event) => `${event.data.message_id} to ${event.data.agent}`,
  AgentStatusChanged: (event) => event.data.agent_status,
  AgentReplied: (event) => quote(event.data.text),
  ProgressReported: (event) => quote(event.data.summary),
  AgentTurnFailed: (event) => `${event.data.error} ${quote(event.data.message)}`,
  PermissionDecided: (event) => `${event.data.permission} ${event.data.reply}: ${event.data.reason}`,
  AgentSessionEnded: (event) => event.data.opencode_session_id,
  OpenCodeServerStarted: (event) => `pid ${event.data.pid} port ${event.data.port} version ${event.data.version}`,
  OpenCodeServerExited: (event) => `pid ${event.data.pid} ${event.data.signal ?? `code ${event.data.code}`}`,
  DeploymentRequested: (event) =>
    `${event.data.repo}@${event.data.branch} ${event.data.commit.slice(0, 7)} into ${event.data.plan.namespace}`,
  ConfirmationRequested: (event) => `expires ${event.data.expires_at}`,
  DeploymentConfirmed: (event) => `by ${event.data.confirmed_by}`,
  DeploymentRejected: (event) =>
    `by ${event.data.rejected_by}${event.data.reason ? ` ${quote(event.data.reason)}` : ''}`,
  DeploymentStepStarted: stepAndMessage,
  DeploymentProgressed: stepAndMessage,
  DeploymentStepCompleted: (event) => `${event.data.step} ${event.data.status}`,
  DeploymentSucceeded: (event) => event.data.url,
  DeploymentFailed: (event) => `${event.data.step ?? 'before any step'} ${quote(event.data.reason)}`,
  NamespaceCreated: (event) => `${event.data.name} for ${event.data.project}`,
  NamespaceDeletionScheduled: (event) =>
    `${event.data.name} on ${event.data.scheduled_for} by ${event.data.requested_by}`,
  NamespaceDeletionRequested: (event) => `${event.data.name} by ${event.data.requested_by}`,
  NamespaceDeleted: (event) => `${event.data.name} ${event.data.outcome}`,
  WebhookDelivered: (event) =>
    `${event.data.event_type} ${event.data.status_code} after ${plural(event.data.attempts, 'attempt')}`,
  WebhookParked: (event) =>
    `${event.data.webhook.event_type} ${event.data.held_behind ? `held behind ${event.data.held_behind}` : quote(event.data.last_error)}`,
  WebhookRetryRequested: (event) => `${event.data.webhook.event_type} by ${event.data.requested_by}`,
  CheckpointSaved: (event) => `${event.data.subscriber} at ${event.data.position}`,
  ReactionCompleted: (event) =>
    `${reactionOf(event.data)} ${event.data.outcome}${event.data.detail ? ` ${quote(event.data.detail)}` : ''}`,
  ReactionFailed: (event) =>
    `${reactionOf(event.data)} ${event.data.effect_kind} after ${plural(event.data.attempts, 'attempt')} ${quote(event.data.error)}`,
  IdempotentRequestStarted: (event) => `${event.data.method} ${event.data.path}`,
  IdempotentResponseRecorded: (event) => `status ${event.data.response.status}`,
  IdempotentRequestAbandoned: (event) => quote(event.data.reason),
  BuilderClaimed: builderAndSession,
  BuilderReleased: builderAndSession,
};

/**
 * The table's entry for the event's own type, applied; undefined when the table has none.
 * Generic over the type so that TypeScript pairs the entry with the event it takes, with no cast.
 */
const describe = <Type extends KnownEvent['type']>(type: Type, event: KnownEventOfType<Type>): string | undefined =>
  detailOfType[type]?.(event);

/**
 * What the event says, after its type; undefined for a type the table does not list. The event
 * may be of a type this version does not know at all, so only the table's own entries count
 * (never a name every object has, such as `constructor`).
 */
const detailOf = (event: KnownEvent): string | undefined =>
  Object.hasOwn(detailOfType, event.type) ? describe(event.type, event) : undefined;

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
