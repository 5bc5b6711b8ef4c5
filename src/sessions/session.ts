import type { Route } from '../routing/signals.js';
import type { SessionEvent } from './events.js';
import { sessionErrorOf } from './session-error.js';
import { isStarting, type SessionStatus } from './status.js';

interface SessionFacts {
  readonly sessionId: string;
  readonly builder: string;
  /** The session's repository names (its worktrees, for removal). */
  readonly repos: readonly string[];
  readonly suggested: Route | null;
  readonly confirmed: Route | null;
  readonly workspaceReady: boolean;
  /** The worktrees and the folder were removed after the session closed. */
  readonly workspaceRemoved: boolean;
  /** The agent's question waiting for an answer, if any. */
  readonly pendingQuestion: string | null;
  readonly answeredQuestions: readonly string[];
  /** The OpenCode session the agent works in, once started. */
  readonly agentSessionId: string | null;
  readonly agentStatus: 'idle' | 'working';
  /** What the bridge recorded, by OpenCode's ids (`reply:msg_…`, `progress:…`, `permission:per_…`, `prompt:<message id>`). */
  readonly recorded: ReadonlySet<string>;
  /** The last status recorded of each of the session's deployments. */
  readonly deployments: Readonly<Record<string, string>>;
  /** The last push of each repo's builder branch that the remote took (`workspace.push`), by repo name. */
  readonly pushed: Readonly<Record<string, PushedBranch>>;
}

/** A builder branch as it was last pushed. */
interface PushedBranch {
  readonly remote: string;
  readonly branch: string;
  readonly commit: string;
  readonly compare_url: string | null;
}

/** The contract's status machine: initializing → awaiting_route → active ⇄ paused → closed; failed before closed. */
export type Session =
  | { readonly status: 'none' }
  | ({ readonly status: 'initializing' } & SessionFacts)
  | ({ readonly status: 'awaiting_route' } & SessionFacts)
  | ({ readonly status: 'active' } & SessionFacts)
  | ({ readonly status: 'paused' } & SessionFacts)
  | ({ readonly status: 'closed' } & SessionFacts)
  /** `error`: what the person is told, naming the repo and the cause (sessionErrorOf). */
  | ({ readonly status: 'failed' } & SessionFacts & { readonly error: string });

// The union above names the contract's statuses (./status.ts), no more and no fewer, and 'none'.
type Named = Exclude<Session['status'], 'none'>;
const sameStatuses: [Named, SessionStatus] extends [SessionStatus, Named] ? true : never = true;
void sameStatuses;

export const initialSession = (): Session => ({ status: 'none' });

/** Where a session that has not started yet stands: waiting for its workspace, then for a route. */
export const settledStatus = (facts: {
  readonly workspaceReady: boolean;
  readonly confirmed: Route | null;
}): 'initializing' | 'awaiting_route' | 'active' => {
  if (!facts.workspaceReady) return 'initializing';
  return facts.confirmed ? 'active' : 'awaiting_route';
};

const settled = (facts: SessionFacts): Session => ({ status: settledStatus(facts), ...facts });

const notStarted = (state: Session): boolean => isStarting(state.status);

const factsOf = (state: Exclude<Session, { status: 'none' }>): SessionFacts => ({
  sessionId: state.sessionId,
  builder: state.builder,
  repos: state.repos,
  suggested: state.suggested,
  confirmed: state.confirmed,
  workspaceReady: state.workspaceReady,
  workspaceRemoved: state.workspaceRemoved,
  pendingQuestion: state.pendingQuestion,
  answeredQuestions: state.answeredQuestions,
  agentSessionId: state.agentSessionId,
  agentStatus: state.agentStatus,
  recorded: state.recorded,
  deployments: state.deployments,
  pushed: state.pushed,
});

const noting = (state: Exclude<Session, { status: 'none' }>, key: string): Session => ({
  ...state,
  recorded: new Set([...state.recorded, key]),
});

/** A new session: nothing done yet but its name, builder and repos. */
const createdFacts = ({ data }: Extract<SessionEvent, { type: 'SessionCreated' }>): SessionFacts => ({
  sessionId: data.session_id,
  builder: `${data.category}-${data.project}`,
  repos: data.repos.map((repo) => repo.name),
  suggested: null,
  confirmed: null,
  workspaceReady: false,
  workspaceRemoved: false,
  pendingQuestion: null,
  answeredQuestions: [],
  agentSessionId: null,
  agentStatus: 'idle',
  recorded: new Set(),
  deployments: {},
  pushed: {},
});

/** The branch as the remote now has it: what a later push compares with, and what deployment_ready names. */
const withPushed = (
  state: Exclude<Session, { status: 'none' }>,
  { data }: Extract<SessionEvent, { type: 'BranchPushed' }>,
): Session => ({
  ...state,
  pushed: {
    ...state.pushed,
    [data.repo]: { remote: data.remote, branch: data.branch, commit: data.commit, compare_url: data.compare_url },
  },
});

export const evolveSession = (state: Session, event: SessionEvent): Session => {
  if (event.type === 'SessionCreated') return settled(createdFacts(event));
  if (state.status === 'none') return state;
  const facts = factsOf(state);
  switch (event.type) {
    case 'RouteSuggested':
      return { ...state, suggested: event.data.suggested };
    // Facts arriving after the session started, or ended (a slow workspace after a close), never revive it.
    case 'RouteConfirmed':
      return notStarted(state)
        ? settled({ ...facts, confirmed: event.data.route })
        : { ...state, confirmed: event.data.route };
    case 'WorkspaceInitialized':
      return notStarted(state) ? settled({ ...facts, workspaceReady: true }) : { ...state, workspaceReady: true };
    case 'WorkspaceFailed':
    case 'SessionFailed':
      return { status: 'failed', ...facts, error: sessionErrorOf(event) };
    case 'QuestionAsked':
      return {
        ...noting(state, `question:${event.data.question_id}`),
        pendingQuestion: event.data.question_id,
      } as Session;
    case 'QuestionAnswered':
      return {
        ...state,
        pendingQuestion: null,
        answeredQuestions: [...state.answeredQuestions, event.data.question_id],
      };
    case 'MessageSent':
    case 'BranchPushFailed':
      return state;
    case 'WorkspaceRemoved':
      return { ...state, workspaceRemoved: true };
    case 'AgentTurnFailed':
      return noting(state, `failure:${event.data.message_id}`);
    case 'AgentSessionStarted':
      return { ...state, agentSessionId: event.data.opencode_session_id };
    case 'AgentSessionEnded':
      return { ...state, agentSessionId: null, agentStatus: 'idle' };
    case 'PromptSent':
      return noting(state, `prompt:${event.data.message_id}`);
    case 'AgentStatusChanged':
      return { ...state, agentStatus: event.data.agent_status };
    case 'AgentReplied':
      return noting(state, `reply:${event.data.message_id}`);
    case 'ProgressReported':
      return noting(state, `progress:${event.data.progress_id}`);
    case 'PermissionDecided':
      return noting(state, `permission:${event.data.permission_id}`);
    case 'DeploymentTestsReported':
      return noting(state, `tests:${event.data.deployment_id}:${event.data.run_id}`);
    case 'DeploymentStatusChanged':
      return { ...state, deployments: { ...state.deployments, [event.data.deployment_id]: event.data.status } };
    case 'BranchPushed':
      return withPushed(state, event);
    case 'SessionPaused':
      return { status: 'paused', ...facts };
    case 'SessionResumed':
      return { status: 'active', ...facts };
    case 'SessionClosed':
      return { status: 'closed', ...facts };
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
};
