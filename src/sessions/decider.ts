import * as E from 'fp-ts/lib/Either.js';
import { accept, refusalsOf, type Decider } from '../commands/decider.js';
import type { DomainError } from '../commands/domain-error.js';
import type { RoutingAnalysis } from '../routing/analyze.js';
import type { Route } from '../routing/signals.js';
import type { TestsResult } from '../testing/results.js';
import type { SessionEvent } from './events.js';
import { evolveSession, initialSession, type Session } from './session.js';

interface RepoRequest {
  readonly name: string;
  readonly url: string | null;
  readonly ref: string | null;
}

export type SessionCommand =
  | {
      readonly type: 'CreateSession';
      readonly sessionId: string;
      readonly category: string;
      readonly project: string;
      readonly repos: readonly RepoRequest[];
      readonly task: { readonly title: string; readonly description: string };
      readonly requestedBy: {
        readonly user: string | null;
        readonly channel: string | null;
        readonly thread_ts: string | null;
      } | null;
      /** The router's analysis, made before deciding (it is pure, but it reads the operator's signals). */
      readonly analysis: RoutingAnalysis & { readonly decided_by?: 'signals' | 'examples' | 'model' };
      readonly autoConfirmConfidence: number;
      readonly now: Date;
    }
  | { readonly type: 'ConfirmRoute'; readonly route: Route; readonly confirmedBy: string; readonly now: Date }
  | {
      readonly type: 'RecordWorkspaceInitialized';
      readonly workspacePath: string;
      readonly repos: readonly {
        readonly name: string;
        readonly worktree_path: string;
        readonly branch: string;
        readonly base_commit: string;
      }[];
      readonly now: Date;
    }
  /** Why the workspace could not be made (naming the repo and the cause), and the tail of what git or `task builder:init` printed. */
  | {
      readonly type: 'RecordWorkspaceFailed';
      readonly reason: string;
      readonly output: string | null;
      readonly now: Date;
    }
  /** The worktrees and the folder were removed, after a close that asked for it. */
  | { readonly type: 'RecordWorkspaceRemoved'; readonly workspacePath: string; readonly now: Date }
  | {
      readonly type: 'SendMessage';
      readonly messageId: string;
      readonly text: string;
      readonly from: string | null;
      readonly now: Date;
    }
  | {
      readonly type: 'AskQuestion';
      readonly questionId: string;
      readonly text: string;
      readonly options: readonly string[];
      readonly now: Date;
    }
  | {
      readonly type: 'AnswerQuestion';
      readonly questionId: string;
      readonly answer: string;
      readonly answeredBy: string;
      readonly now: Date;
    }
  | {
      readonly type: 'RecordAgentSessionStarted';
      readonly opencodeSessionId: string;
      readonly agent: string;
      readonly directory: string;
      readonly now: Date;
    }
  | {
      readonly type: 'RecordPromptSent';
      readonly messageId: string;
      readonly opencodeMessageId: string;
      readonly agent: string;
      readonly now: Date;
    }
  | { readonly type: 'RecordAgentStatus'; readonly agentStatus: 'working' | 'idle'; readonly now: Date }
  | { readonly type: 'RecordAgentReply'; readonly messageId: string; readonly text: string; readonly now: Date }
  | {
      readonly type: 'RecordProgress';
      readonly progressId: string;
      readonly summary: string;
      readonly todos:
        readonly { readonly content: string; readonly status: string; readonly priority: string }[] | null;
      readonly files: readonly string[];
      readonly now: Date;
    }
  | {
      readonly type: 'RecordTurnFailed';
      readonly messageId: string;
      readonly error: string;
      readonly message: string;
      readonly now: Date;
    }
  | {
      readonly type: 'RecordPermissionDecision';
      readonly permissionId: string;
      readonly permission: string;
      readonly patterns: readonly string[];
      readonly reply: 'once' | 'reject';
      readonly reason: string;
      readonly now: Date;
    }
  | { readonly type: 'RecordAgentSessionEnded'; readonly opencodeSessionId: string; readonly now: Date }
  | { readonly type: 'PauseSession'; readonly now: Date }
  | { readonly type: 'ResumeSession'; readonly now: Date }
  | {
      readonly type: 'CloseSession';
      readonly reason: string | null;
      readonly removeWorkspace: boolean;
      readonly now: Date;
    }
  /** A deployment's test results, recorded once per run. */
  | {
      readonly type: 'RecordDeploymentTests';
      readonly deploymentId: string;
      readonly runId: string;
      readonly tests: TestsResult;
      readonly now: Date;
    }
  /** What pushing the builder branches gave (`workspace.push`): one outcome per repo that had something to push. */
  | {
      readonly type: 'RecordBranchPushes';
      readonly outcomes: readonly BranchPushOutcome[];
      readonly now: Date;
    }
  /** A deployment's news, recorded once per status, whatever the session's own status. */
  | {
      readonly type: 'RecordDeploymentStatus';
      readonly deploymentId: string;
      readonly status: string;
      readonly plan: Readonly<Record<string, unknown>> | null;
      readonly expiresAt: string | null;
      readonly url: string | null;
      readonly step: string | null;
      readonly reason: string | null;
      readonly now: Date;
    };

/** One repo's push: the branch and commit it was about, and whether the remote took it. */
export type BranchPushOutcome = {
  readonly repo: string;
  readonly remote: string;
  readonly branch: string;
  readonly commit: string;
} & (
  { readonly pushed: true; readonly compareUrl: string | null } | { readonly pushed: false; readonly reason: string }
);

/** The actor the gateway records when it confirms a route by itself. */
const GATEWAY_ACTOR = 'gateway';

type Decision = E.Either<DomainError, readonly SessionEvent[]>;

/** One kind of command, by its type. */
type CommandOf<Type extends SessionCommand['type']> = Extract<SessionCommand, { readonly type: Type }>;

/** A session that was created, whatever its status since. */
type ExistingSession = Exclude<Session, { readonly status: 'none' }>;

/** A command not allowed in the session's status. */
const refused = refusalsOf('session');

/** The agent works while the session is active, and finishes its turn's bookkeeping while paused. */
const agentMayWork = (state: Session): boolean => state.status === 'active' || state.status === 'paused';

const decideCreateSession = (state: Session, command: CommandOf<'CreateSession'>): Decision => {
  const at = command.now.toISOString();
  if (state.status !== 'none') return refused(state.status, `session ${command.sessionId} exists already`);
  const { analysis } = command;
  const created: SessionEvent[] = [
    {
      type: 'SessionCreated',
      data: {
        session_id: command.sessionId,
        category: command.category,
        project: command.project,
        repos: command.repos.map((repo) => ({ name: repo.name, url: repo.url, ref: repo.ref })),
        task: { ...command.task },
        requested_by: command.requestedBy ? { ...command.requestedBy } : null,
        created_at: at,
      },
    },
    {
      type: 'RouteSuggested',
      data: {
        suggested: analysis.suggested,
        confidence: analysis.confidence,
        reason: analysis.reason,
        scores: { ...analysis.scores },
        signals: analysis.signals.map((signal) => ({ ...signal })),
        awaiting_confirmation: analysis.confidence < command.autoConfirmConfidence,
        ...(analysis.decided_by === undefined ? {} : { decided_by: analysis.decided_by }),
      },
    },
  ];
  if (analysis.confidence >= command.autoConfirmConfidence) {
    // Confirmed by the gateway in the same append, so nobody is ever asked about it.
    created.push({
      type: 'RouteConfirmed',
      data: { route: analysis.suggested, confirmed_by: GATEWAY_ACTOR, overridden: false, confirmed_at: at },
    });
  }
  return E.right(created);
};

const decideConfirmRoute = (state: ExistingSession, command: CommandOf<'ConfirmRoute'>): Decision => {
  if (state.status !== 'initializing' && state.status !== 'awaiting_route')
    return refused(state.status, 'the route can only be chosen before the agent starts');
  return accept({
    type: 'RouteConfirmed',
    data: {
      route: command.route,
      confirmed_by: command.confirmedBy,
      overridden: command.route !== state.suggested,
      confirmed_at: command.now.toISOString(),
    },
  });
};

const decideWorkspaceInitialized = (
  state: ExistingSession,
  command: CommandOf<'RecordWorkspaceInitialized'>,
): Decision => {
  if (state.status !== 'initializing') {
    // A retried initialization after the workspace was recorded changes nothing.
    if (state.workspaceReady) return accept();
    return refused(state.status, 'a workspace can only be recorded while the session initializes');
  }
  return accept({
    type: 'WorkspaceInitialized',
    data: {
      workspace_path: command.workspacePath,
      repos: command.repos.map((repo) => ({ ...repo })),
      initialized_at: command.now.toISOString(),
    },
  });
};

const decideWorkspaceFailed = (state: ExistingSession, command: CommandOf<'RecordWorkspaceFailed'>): Decision => {
  if (state.status !== 'initializing')
    return refused(state.status, 'a workspace can only fail while the session initializes');
  return accept({
    type: 'WorkspaceFailed',
    data: {
      builder: state.builder,
      reason: command.reason,
      failed_at: command.now.toISOString(),
      ...(command.output === null ? {} : { output: command.output }),
    },
  });
};

const decideWorkspaceRemoved = (state: ExistingSession, command: CommandOf<'RecordWorkspaceRemoved'>): Decision => {
  if (state.status !== 'closed') return refused(state.status, 'a workspace is removed only after the session closed');
  if (state.workspaceRemoved) return accept();
  return accept({
    type: 'WorkspaceRemoved',
    data: { workspace_path: command.workspacePath, removed_at: command.now.toISOString() },
  });
};

const decideSendMessage = (state: ExistingSession, command: CommandOf<'SendMessage'>): Decision => {
  if (state.status !== 'active') return refused(state.status, 'messages can only be sent to an active session');
  return accept({
    type: 'MessageSent',
    data: { message_id: command.messageId, text: command.text, from: command.from, sent_at: command.now.toISOString() },
  });
};

const decideAskQuestion = (state: ExistingSession, command: CommandOf<'AskQuestion'>): Decision => {
  if (state.recorded.has(`question:${command.questionId}`)) return accept();
  if (state.status !== 'active') return refused(state.status, 'only an active session’s agent can ask');
  if (state.pendingQuestion !== null)
    return refused(state.status, `question ${state.pendingQuestion} is still waiting for an answer`);
  return accept({
    type: 'QuestionAsked',
    data: {
      question_id: command.questionId,
      text: command.text,
      options: [...command.options],
      asked_at: command.now.toISOString(),
    },
  });
};

const decideAnswerQuestion = (state: ExistingSession, command: CommandOf<'AnswerQuestion'>): Decision => {
  if (state.answeredQuestions.includes(command.questionId))
    return refused(state.status, `question ${command.questionId} was answered already`);
  if (state.pendingQuestion !== command.questionId)
    return E.left({ kind: 'not_found', detail: `no question ${command.questionId} is waiting in this session` });
  if (state.status !== 'active') return refused(state.status, 'questions can only be answered in an active session');
  return accept({
    type: 'QuestionAnswered',
    data: {
      question_id: command.questionId,
      answer: command.answer,
      answered_by: command.answeredBy,
      answered_at: command.now.toISOString(),
    },
  });
};

const decideAgentSessionStarted = (
  state: ExistingSession,
  command: CommandOf<'RecordAgentSessionStarted'>,
): Decision => {
  if (state.agentSessionId === command.opencodeSessionId) return accept();
  if (!agentMayWork(state)) return refused(state.status, 'an agent starts only in an active session');
  if (state.agentSessionId !== null)
    return refused(state.status, `the agent works in OpenCode session ${state.agentSessionId} already`);
  return accept({
    type: 'AgentSessionStarted',
    data: {
      opencode_session_id: command.opencodeSessionId,
      agent: command.agent,
      directory: command.directory,
      started_at: command.now.toISOString(),
    },
  });
};

const decidePromptSent = (state: ExistingSession, command: CommandOf<'RecordPromptSent'>): Decision => {
  const at = command.now.toISOString();
  if (state.recorded.has(`prompt:${command.messageId}`)) return accept();
  if (!agentMayWork(state) || state.agentSessionId === null)
    return refused(state.status, 'prompts go only to a started agent of a live session');
  const sent: SessionEvent = {
    type: 'PromptSent',
    data: {
      message_id: command.messageId,
      opencode_message_id: command.opencodeMessageId,
      agent: command.agent,
      sent_at: at,
    },
  };
  // A prompt sets the agent to work: one decision, so the status never lags the prompt.
  return state.agentStatus === 'working'
    ? accept(sent)
    : accept<SessionEvent>(sent, { type: 'AgentStatusChanged', data: { agent_status: 'working', changed_at: at } });
};

const decideAgentStatus = (state: ExistingSession, command: CommandOf<'RecordAgentStatus'>): Decision => {
  if (!agentMayWork(state)) return refused(state.status, 'only a live session’s agent works');
  if (state.agentStatus === command.agentStatus) return accept();
  return accept({
    type: 'AgentStatusChanged',
    data: { agent_status: command.agentStatus, changed_at: command.now.toISOString() },
  });
};

const decideAgentReply = (state: ExistingSession, command: CommandOf<'RecordAgentReply'>): Decision => {
  if (state.recorded.has(`reply:${command.messageId}`)) return accept();
  if (!agentMayWork(state)) return refused(state.status, 'only a live session’s agent replies');
  return accept({
    type: 'AgentReplied',
    data: { message_id: command.messageId, text: command.text, replied_at: command.now.toISOString() },
  });
};

const decideProgress = (state: ExistingSession, command: CommandOf<'RecordProgress'>): Decision => {
  if (state.recorded.has(`progress:${command.progressId}`)) return accept();
  if (!agentMayWork(state)) return refused(state.status, 'only a live session’s agent reports progress');
  return accept({
    type: 'ProgressReported',
    data: {
      progress_id: command.progressId,
      summary: command.summary,
      todos: command.todos ? command.todos.map((todo) => ({ ...todo })) : null,
      files: [...command.files],
      reported_at: command.now.toISOString(),
    },
  });
};

const decideTurnFailed = (state: ExistingSession, command: CommandOf<'RecordTurnFailed'>): Decision => {
  if (state.recorded.has(`failure:${command.messageId}`)) return accept();
  if (!agentMayWork(state)) return refused(state.status, 'only a live session’s agent fails a turn');
  return accept({
    type: 'AgentTurnFailed',
    data: {
      message_id: command.messageId,
      error: command.error,
      message: command.message,
      failed_at: command.now.toISOString(),
    },
  });
};

const decidePermissionDecision = (state: ExistingSession, command: CommandOf<'RecordPermissionDecision'>): Decision => {
  if (state.recorded.has(`permission:${command.permissionId}`)) return accept();
  if (!agentMayWork(state)) return refused(state.status, 'only a live session’s agent asks for permissions');
  return accept({
    type: 'PermissionDecided',
    data: {
      permission_id: command.permissionId,
      permission: command.permission,
      patterns: [...command.patterns],
      reply: command.reply,
      reason: command.reason,
      decided_at: command.now.toISOString(),
    },
  });
};

const decideAgentSessionEnded = (state: ExistingSession, command: CommandOf<'RecordAgentSessionEnded'>): Decision => {
  if (state.agentSessionId !== command.opencodeSessionId) return accept();
  return accept({
    type: 'AgentSessionEnded',
    data: { opencode_session_id: command.opencodeSessionId, ended_at: command.now.toISOString() },
  });
};

const decidePauseSession = (state: ExistingSession, command: CommandOf<'PauseSession'>): Decision => {
  if (state.status !== 'active') return refused(state.status, 'only an active session can be paused');
  return accept({ type: 'SessionPaused', data: { paused_at: command.now.toISOString() } });
};

const decideResumeSession = (state: ExistingSession, command: CommandOf<'ResumeSession'>): Decision => {
  if (state.status !== 'paused') return refused(state.status, 'only a paused session can be resumed');
  return accept({ type: 'SessionResumed', data: { resumed_at: command.now.toISOString() } });
};

const decideCloseSession = (state: ExistingSession, command: CommandOf<'CloseSession'>): Decision => {
  if (state.status === 'closed') return refused(state.status, 'the session is closed already');
  return accept({
    type: 'SessionClosed',
    data: {
      builder: state.builder,
      repos: [...state.repos],
      reason: command.reason,
      remove_workspace: command.removeWorkspace,
      closed_at: command.now.toISOString(),
    },
  });
};

const decideDeploymentTests = (state: ExistingSession, command: CommandOf<'RecordDeploymentTests'>): Decision => {
  if (state.recorded.has(`tests:${command.deploymentId}:${command.runId}`)) return accept();
  return accept({
    type: 'DeploymentTestsReported',
    data: {
      deployment_id: command.deploymentId,
      run_id: command.runId,
      tests: command.tests,
      reported_at: command.now.toISOString(),
    },
  });
};

/**
 * Pushes are facts of the remote, recorded whatever the session's status (a turn's push may end
 * after a close). A success already recorded for that commit is not recorded again (a push run
 * again after a crash); a failure always is: each is a try a person is told of.
 */
const decideBranchPushes = (state: ExistingSession, command: CommandOf<'RecordBranchPushes'>): Decision => {
  const at = command.now.toISOString();
  const events = command.outcomes.flatMap((outcome): SessionEvent[] => {
    const { repo, remote, branch, commit } = outcome;
    if (!outcome.pushed)
      return [
        { type: 'BranchPushFailed', data: { repo, remote, branch, commit, reason: outcome.reason, failed_at: at } },
      ];
    if (state.pushed[repo]?.commit === commit && state.pushed[repo]?.remote === remote) return [];
    return [
      {
        type: 'BranchPushed',
        data: { repo, remote, branch, commit, compare_url: outcome.compareUrl, pushed_at: at },
      },
    ];
  });
  return accept(...events);
};

/** The session's pushed branches, as the deployment_ready webhook names them. */
const pushedRepos = (state: ExistingSession) =>
  Object.entries(state.pushed).map(([name, pushed]) => ({
    name,
    remote: pushed.remote,
    branch: pushed.branch,
    compare_url: pushed.compare_url,
  }));

const decideDeploymentStatus = (state: ExistingSession, command: CommandOf<'RecordDeploymentStatus'>): Decision => {
  if (state.deployments[command.deploymentId] === command.status) return accept();
  return accept({
    type: 'DeploymentStatusChanged',
    data: {
      deployment_id: command.deploymentId,
      status: command.status,
      plan: command.plan,
      expires_at: command.expiresAt,
      url: command.url,
      step: command.step,
      reason: command.reason,
      changed_at: command.now.toISOString(),
      // A ready lab's webhook says where the work is too: empty when nothing was pushed (workspace.push off).
      ...(command.status === 'succeeded' ? { repos: pushedRepos(state) } : {}),
    },
  });
};

const decideSession = (command: SessionCommand, state: Session): Decision => {
  if (command.type === 'CreateSession') return decideCreateSession(state, command);
  if (state.status === 'none') return E.left({ kind: 'not_found', detail: 'no such session' });
  switch (command.type) {
    case 'ConfirmRoute':
      return decideConfirmRoute(state, command);
    case 'RecordWorkspaceInitialized':
      return decideWorkspaceInitialized(state, command);
    case 'RecordWorkspaceFailed':
      return decideWorkspaceFailed(state, command);
    case 'RecordWorkspaceRemoved':
      return decideWorkspaceRemoved(state, command);
    case 'SendMessage':
      return decideSendMessage(state, command);
    case 'AskQuestion':
      return decideAskQuestion(state, command);
    case 'AnswerQuestion':
      return decideAnswerQuestion(state, command);
    case 'RecordAgentSessionStarted':
      return decideAgentSessionStarted(state, command);
    case 'RecordPromptSent':
      return decidePromptSent(state, command);
    case 'RecordAgentStatus':
      return decideAgentStatus(state, command);
    case 'RecordAgentReply':
      return decideAgentReply(state, command);
    case 'RecordProgress':
      return decideProgress(state, command);
    case 'RecordTurnFailed':
      return decideTurnFailed(state, command);
    case 'RecordPermissionDecision':
      return decidePermissionDecision(state, command);
    case 'RecordAgentSessionEnded':
      return decideAgentSessionEnded(state, command);
    case 'PauseSession':
      return decidePauseSession(state, command);
    case 'ResumeSession':
      return decideResumeSession(state, command);
    case 'CloseSession':
      return decideCloseSession(state, command);
    case 'RecordDeploymentTests':
      return decideDeploymentTests(state, command);
    case 'RecordDeploymentStatus':
      return decideDeploymentStatus(state, command);
    case 'RecordBranchPushes':
      return decideBranchPushes(state, command);
    default: {
      const unexpected: never = command;
      return unexpected;
    }
  }
};

export const sessionDecider: Decider<SessionCommand, SessionEvent, Session> = {
  initialState: initialSession,
  evolve: evolveSession,
  decide: decideSession,
};
