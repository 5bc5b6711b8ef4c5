import * as t from 'io-ts';
import { defineEvent, jsonCodec, type EventOf } from '../events/domain-event.js';
import { TestsResult } from '../testing/results.js';
import { agentEventDefinitions, type AgentEvent } from './agent-events.js';
import { Route } from '../routing/signals.js';
import { streamNaming } from '../events/stream-name.js';

const optional = <C extends t.Mixed>(codec: C) => t.union([codec, t.null]);

const RepoRequest = t.type({ name: t.string, url: optional(t.string), ref: optional(t.string) });
const Task = t.type({ title: t.string, description: t.string });
/** Who asked for the session, as `POST /api/sessions` gave it: shown on its views and webhooks. */
export const RequestedBy = t.type({
  user: optional(t.string),
  channel: optional(t.string),
  thread_ts: optional(t.string),
});
export type RequestedBy = t.TypeOf<typeof RequestedBy>;

const SessionCreated = defineEvent(
  'SessionCreated',
  jsonCodec(
    t.type({
      session_id: t.string,
      category: t.string,
      project: t.string,
      repos: t.array(RepoRequest),
      task: Task,
      requested_by: optional(RequestedBy),
      created_at: t.string,
    }),
  ),
);

const RouteSuggested = defineEvent(
  'RouteSuggested',
  jsonCodec(
    t.intersection([
      t.type({
        suggested: Route,
        confidence: t.number,
        reason: t.string,
        scores: t.record(t.string, t.number),
        signals: t.array(t.type({ route: Route, term: t.string, weight: t.number })),
      }),
      /** Below the auto-confirm confidence: a person is asked (the routing_suggestion webhook). */
      /** Which decided the suggestion: the signals, or the model's second opinion (routing.model_assist). */
      t.partial({
        awaiting_confirmation: t.boolean,
        decided_by: t.keyof({ signals: null, examples: null, model: null }),
      }),
    ]),
  ),
);

const RouteConfirmed = defineEvent(
  'RouteConfirmed',
  jsonCodec(t.type({ route: Route, confirmed_by: t.string, overridden: t.boolean, confirmed_at: t.string })),
);

const WorkspaceInitialized = defineEvent(
  'WorkspaceInitialized',
  jsonCodec(
    t.type({
      workspace_path: t.string,
      repos: t.array(
        t.intersection([
          t.type({ name: t.string, worktree_path: t.string, branch: t.string, base_commit: t.string }),
          /** The git directory the gateway made for the worktree: what it uses, never the worktree's own `.git`. */
          t.partial({ git_dir: t.string }),
        ]),
      ),
      initialized_at: t.string,
    }),
  ),
);

// Ending events name the builder, so the builder's claim can be released without the session's history.
const WorkspaceFailed = defineEvent(
  'WorkspaceFailed',
  jsonCodec(
    t.intersection([
      t.type({ builder: t.string, reason: t.string, failed_at: t.string }),
      /** The tail of what `task builder:init` printed, when it was what failed. */
      t.partial({ output: t.string }),
    ]),
  ),
);
const MessageSent = defineEvent(
  'MessageSent',
  jsonCodec(t.type({ message_id: t.string, text: t.string, from: optional(t.string), sent_at: t.string })),
);
/** The agent asks a person; the agent issue records these from OpenCode's question events. */
const QuestionAsked = defineEvent(
  'QuestionAsked',
  jsonCodec(t.type({ question_id: t.string, text: t.string, options: t.array(t.string), asked_at: t.string })),
);
const QuestionAnswered = defineEvent(
  'QuestionAnswered',
  jsonCodec(t.type({ question_id: t.string, answer: t.string, answered_by: t.string, answered_at: t.string })),
);
const SessionPaused = defineEvent('SessionPaused', jsonCodec(t.type({ paused_at: t.string })));
const SessionResumed = defineEvent('SessionResumed', jsonCodec(t.type({ resumed_at: t.string })));
const SessionClosed = defineEvent(
  'SessionClosed',
  jsonCodec(
    t.type({
      builder: t.string,
      repos: t.array(t.string),
      reason: optional(t.string),
      remove_workspace: t.boolean,
      closed_at: t.string,
    }),
  ),
);
/** The worktrees and the folder were removed after a close with `remove_workspace`. */
const WorkspaceRemoved = defineEvent(
  'WorkspaceRemoved',
  jsonCodec(t.type({ workspace_path: t.string, removed_at: t.string })),
);
/** A branch as the deployment_ready webhook names it: where it was pushed, and where to compare it. */
const PushedRepo = t.type({ name: t.string, remote: t.string, branch: t.string, compare_url: optional(t.string) });
/**
 * A deployment of the session changed status: the session's own record of it, so its view lists
 * it, its SSE sends `deployment`, and its webhooks (confirmation request, ready, failed) keep the
 * session's order. `plan` comes with awaiting_confirmation, `url` with succeeded, `step` and
 * `reason` with failed, rejected and expired.
 */
const DeploymentStatusChanged = defineEvent(
  'DeploymentStatusChanged',
  jsonCodec(
    t.intersection([
      t.type({
        deployment_id: t.string,
        status: t.string,
        plan: t.union([t.UnknownRecord, t.null]),
        expires_at: t.union([t.string, t.null]),
        url: t.union([t.string, t.null]),
        step: t.union([t.string, t.null]),
        reason: t.union([t.string, t.null]),
        changed_at: t.string,
      }),
      /** With `succeeded`: the session's pushed branches at that moment (`workspace.push`), for the deployment_ready webhook. */
      t.partial({ repos: t.array(PushedRepo) }),
    ]),
  ),
);
/** A deployment's test results, told to its session (a `test_results` webhook). */
const DeploymentTestsReported = defineEvent(
  'DeploymentTestsReported',
  jsonCodec(t.type({ deployment_id: t.string, run_id: t.string, tests: TestsResult, reported_at: t.string })),
);
/** What a push was of and where to: the same for a push done and a push refused. */
const pushOf = { repo: t.string, remote: t.string, branch: t.string, commit: t.string };
/**
 * The session's builder branch of a repo cloned from a URL, pushed to that remote
 * (`workspace.push`): after a turn that changed the worktree, or before a deployment. `remote` is
 * the URL without credentials; `compare_url` the `workspace.compare_url` template filled in, or null.
 */
const BranchPushed = defineEvent(
  'BranchPushed',
  jsonCodec(t.type({ ...pushOf, compare_url: optional(t.string), pushed_at: t.string })),
);
/** A push the remote refused or that could not reach it: `reason` names the remote (without credentials) and git's words. */
const BranchPushFailed = defineEvent(
  'BranchPushFailed',
  jsonCodec(t.type({ ...pushOf, reason: t.string, failed_at: t.string })),
);
const SessionFailed = defineEvent(
  'SessionFailed',
  jsonCodec(t.type({ builder: t.string, reason: t.string, failed_at: t.string })),
);

export type SessionEvent =
  | EventOf<typeof SessionCreated>
  | EventOf<typeof RouteSuggested>
  | EventOf<typeof RouteConfirmed>
  | EventOf<typeof WorkspaceInitialized>
  | EventOf<typeof WorkspaceFailed>
  | EventOf<typeof MessageSent>
  | EventOf<typeof QuestionAsked>
  | EventOf<typeof QuestionAnswered>
  | EventOf<typeof SessionPaused>
  | EventOf<typeof SessionResumed>
  | EventOf<typeof SessionClosed>
  | EventOf<typeof WorkspaceRemoved>
  | EventOf<typeof SessionFailed>
  | EventOf<typeof DeploymentStatusChanged>
  | EventOf<typeof DeploymentTestsReported>
  | EventOf<typeof BranchPushed>
  | EventOf<typeof BranchPushFailed>
  | AgentEvent;

export const sessionEventDefinitions = [
  SessionCreated,
  RouteSuggested,
  RouteConfirmed,
  WorkspaceInitialized,
  WorkspaceFailed,
  MessageSent,
  QuestionAsked,
  QuestionAnswered,
  SessionPaused,
  SessionResumed,
  SessionClosed,
  WorkspaceRemoved,
  SessionFailed,
  DeploymentStatusChanged,
  DeploymentTestsReported,
  BranchPushed,
  BranchPushFailed,
  ...agentEventDefinitions,
] as const;

const sessionStreams = streamNaming('session');
export const sessionStream = sessionStreams.name;
/** The session whose stream this is, if it is a session's. */
export const sessionIdOf = sessionStreams.idOf;
