import type { StoredEvent } from '../events/stored-event.js';
import type { DocumentProjection } from '../projections/projection.js';
import type { Route } from '../routing/signals.js';
import type { RequestedBy } from './events.js';
import { sessionIdOf, type SessionEvent } from './events.js';
import { settledStatus } from './session.js';
import { sessionErrorOf } from './session-error.js';
import { withoutUrlCredentials } from '../shared/url-credentials.js';
import { isStarting, type SessionStatus } from './status.js';

/** The contract's session view, in wire names, as GET /api/sessions/{id} serves it. */
export interface SessionView {
  readonly session_id: string;
  readonly category: string;
  readonly project: string;
  readonly repos: readonly {
    readonly name: string;
    readonly url: string | null;
    readonly ref: string | null;
    readonly worktree_path: string | null;
    readonly branch: string | null;
    readonly base_commit: string | null;
    /** The builder branch as the remote last took it (`workspace.push`); null until then. */
    readonly pushed: {
      readonly remote: string;
      readonly branch: string;
      readonly commit: string;
      readonly pushed_at: string;
      readonly compare_url: string | null;
    } | null;
    /** Why the last push failed; null once a push succeeds (and before any fails). */
    readonly push_error: string | null;
  }[];
  readonly task: { readonly title: string; readonly description: string };
  readonly status: SessionStatus;
  readonly agent_status: 'idle' | 'working' | 'waiting_for_answer';
  /** Why the session failed, naming the repo and the cause (contract 1.1); null unless it failed. */
  readonly error: string | null;
  /** Who asked, as given at creation (contract 1.1), so the Slack backend finds the thread from any view. */
  readonly requested_by: RequestedBy | null;
  readonly route: {
    readonly suggested: Route | null;
    readonly confidence: number | null;
    readonly reason: string | null;
    readonly confirmed: Route | null;
    readonly confirmed_by: string | null;
  };
  readonly workspace_path: string | null;
  readonly pending_question: {
    readonly question_id: string;
    readonly text: string;
    readonly options: readonly string[];
  } | null;
  readonly deployments: readonly string[];
  readonly created_at: string;
  readonly updated_at: string;
  readonly revision: number;
}

const live = (view: SessionView): SessionView['status'] =>
  settledStatus({ workspaceReady: view.workspace_path !== null, confirmed: view.route.confirmed });

/** When the view last changed, and at which revision of its stream: every event moves both. */
type Stamp = Pick<SessionView, 'updated_at' | 'revision'>;

/** One kind of session event, by its type. */
type EventOf<Type extends SessionEvent['type']> = Extract<SessionEvent, { readonly type: Type }>;

const createdView = (event: EventOf<'SessionCreated'>, stamp: Stamp): SessionView => {
  const data = event.data;
  return {
    session_id: data.session_id,
    category: data.category,
    project: data.project,
    // Events written before URLs were kept without credentials may hold some: never shown.
    repos: data.repos.map((repo) => ({
      name: repo.name,
      url: repo.url === null ? null : withoutUrlCredentials(repo.url),
      ref: repo.ref,
      worktree_path: null,
      branch: null,
      base_commit: null,
      pushed: null,
      push_error: null,
    })),
    task: data.task,
    status: 'initializing',
    agent_status: 'idle',
    error: null,
    requested_by: data.requested_by ? { ...data.requested_by } : null,
    route: { suggested: null, confidence: null, reason: null, confirmed: null, confirmed_by: null },
    workspace_path: null,
    pending_question: null,
    deployments: [],
    created_at: data.created_at,
    ...stamp,
  };
};

const withRouteSuggested = (view: SessionView, event: EventOf<'RouteSuggested'>, stamp: Stamp): SessionView => ({
  ...view,
  ...stamp,
  route: {
    ...view.route,
    suggested: event.data.suggested,
    confidence: event.data.confidence,
    reason: event.data.reason,
  },
});

const withRouteConfirmed = (view: SessionView, event: EventOf<'RouteConfirmed'>, stamp: Stamp): SessionView => {
  const next = {
    ...view,
    ...stamp,
    route: { ...view.route, confirmed: event.data.route, confirmed_by: event.data.confirmed_by },
  };
  return isStarting(view.status) ? { ...next, status: live(next) } : next;
};

const withWorkspaceInitialized = (
  view: SessionView,
  event: EventOf<'WorkspaceInitialized'>,
  stamp: Stamp,
): SessionView => {
  const byName = new Map(event.data.repos.map((repo) => [repo.name, repo]));
  const next = {
    ...view,
    ...stamp,
    workspace_path: event.data.workspace_path,
    repos: view.repos.map((repo) => {
      const ready = byName.get(repo.name);
      return ready
        ? { ...repo, worktree_path: ready.worktree_path, branch: ready.branch, base_commit: ready.base_commit }
        : repo;
    }),
  };
  return view.status === 'initializing' ? { ...next, status: live(next) } : next;
};

const withWorkspaceRemoved = (view: SessionView, stamp: Stamp): SessionView => ({
  ...view,
  ...stamp,
  workspace_path: null,
  repos: view.repos.map((repo) => ({ ...repo, worktree_path: null })),
});

const withQuestionAsked = (view: SessionView, event: EventOf<'QuestionAsked'>, stamp: Stamp): SessionView => ({
  ...view,
  ...stamp,
  agent_status: 'waiting_for_answer',
  pending_question: { question_id: event.data.question_id, text: event.data.text, options: event.data.options },
});

const withDeploymentStatusChanged = (
  view: SessionView,
  event: EventOf<'DeploymentStatusChanged'>,
  stamp: Stamp,
): SessionView =>
  view.deployments.includes(event.data.deployment_id)
    ? { ...view, ...stamp }
    : { ...view, ...stamp, deployments: [...view.deployments, event.data.deployment_id] };

/** The repo's entry after a push: what the remote has now, or why it has not. */
const withPush = (
  view: SessionView,
  event: EventOf<'BranchPushed'> | EventOf<'BranchPushFailed'>,
  stamp: Stamp,
): SessionView => ({
  ...view,
  ...stamp,
  repos: view.repos.map((repo) => {
    if (repo.name !== event.data.repo) return repo;
    if (event.type === 'BranchPushFailed') return { ...repo, push_error: event.data.reason };
    const { remote, branch, commit, pushed_at, compare_url } = event.data;
    return { ...repo, pushed: { remote, branch, commit, pushed_at, compare_url }, push_error: null };
  }),
});

/** Applies one session event to the view; time and revision come from the stored event. */
export const evolveSessionView = (
  view: SessionView | undefined,
  stored: StoredEvent<SessionEvent>,
): SessionView | undefined => {
  const event = stored.event;
  const stamp: Stamp = { updated_at: stored.metadata.recorded_at, revision: stored.revision };
  if (event.type === 'SessionCreated') return createdView(event, stamp);
  if (!view) return undefined;
  switch (event.type) {
    case 'RouteSuggested':
      return withRouteSuggested(view, event, stamp);
    case 'RouteConfirmed':
      return withRouteConfirmed(view, event, stamp);
    case 'WorkspaceInitialized':
      return withWorkspaceInitialized(view, event, stamp);
    case 'WorkspaceFailed':
    case 'SessionFailed':
      return { ...view, ...stamp, status: 'failed', agent_status: 'idle', error: sessionErrorOf(event) };
    case 'MessageSent':
      return { ...view, ...stamp };
    case 'AgentStatusChanged':
      return {
        ...view,
        ...stamp,
        agent_status: view.pending_question ? 'waiting_for_answer' : event.data.agent_status,
      };
    case 'AgentSessionStarted':
    case 'PromptSent':
    case 'AgentReplied':
    case 'ProgressReported':
    case 'AgentTurnFailed':
    case 'PermissionDecided':
      return { ...view, ...stamp };
    case 'AgentSessionEnded':
      return { ...view, ...stamp, agent_status: 'idle' };
    case 'QuestionAsked':
      return withQuestionAsked(view, event, stamp);
    case 'QuestionAnswered':
      return { ...view, ...stamp, agent_status: 'working', pending_question: null };
    case 'WorkspaceRemoved':
      return withWorkspaceRemoved(view, stamp);
    case 'SessionPaused':
      return { ...view, ...stamp, status: 'paused', agent_status: 'idle' };
    case 'SessionResumed':
      return {
        ...view,
        ...stamp,
        status: 'active',
        agent_status: view.pending_question ? 'waiting_for_answer' : 'idle',
      };
    case 'SessionClosed':
      return { ...view, ...stamp, status: 'closed', agent_status: 'idle' };
    case 'DeploymentTestsReported':
      return { ...view, ...stamp };
    case 'DeploymentStatusChanged':
      return withDeploymentStatusChanged(view, event, stamp);
    case 'BranchPushed':
    case 'BranchPushFailed':
      return withPush(view, event, stamp);
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
};

/** One view per session, folded from its stream: what GET /api/sessions and /api/sessions/{id} serve. */
export const sessionViews: DocumentProjection<SessionView> = {
  name: 'session-views',
  documentIdsOf: (stored) => {
    const id = sessionIdOf(stored.stream);
    return id === undefined ? [] : [id];
  },
  evolve: (view, stored) => evolveSessionView(view, stored as StoredEvent<SessionEvent>),
};
