import { existsSync } from 'node:fs';
import { foldEvents } from '../commands/decider.js';
import type { EventLog } from '../events/event-log.js';
import type { StoredEvent } from '../events/stored-event.js';
import {
  effectThenCommand,
  type EffectHandlers,
  type ProcessManager,
  type Reaction,
} from '../process-managers/process-manager.js';
import { ownedWorktree } from '../shared/git.js';
import { withoutUrlCredentials } from '../shared/url-credentials.js';
import { sessionDecider, type BranchPushOutcome, type SessionCommand } from '../sessions/decider.js';
import { sessionIdOf, sessionStream, type SessionEvent } from '../sessions/events.js';
import type { CloneSettings } from './clone.js';
import { branchTip, commonGitDir, compareUrlOf, pushBuilderBranch } from './push-branch.js';
import { snapshotWorktree } from './snapshot.js';

/** Push the session's builder branches of its repos given by URL; after a turn, commit the agent's work first. */
export type BranchPushEffect = {
  readonly kind: 'push-branches';
  readonly sessionId: string;
  readonly snapshot: boolean;
};

/**
 * Why a session's branches are pushed: a turn of the agent ended (its work is committed as a
 * deployment's snapshot is, then pushed), or a deployment was asked for (its snapshot commit,
 * made by POST /api/deployments, is on the branch already; recorded on the session as
 * `awaiting_confirmation` before anyone can confirm it).
 */
const triggerOf = (event: SessionEvent): 'turn' | 'deployment' | undefined => {
  if (event.type === 'AgentReplied') return 'turn';
  if (event.type === 'DeploymentStatusChanged' && event.data.status === 'awaiting_confirmation') return 'deployment';
  return undefined;
};

/**
 * The branch pusher, pure: with `workspace.push` on, each agent turn and each deployment asks for
 * the session's branches to be pushed; what happened is a command for the session's decider. It
 * is registered whether push is on or not, so its checkpoint follows the log while it is off:
 * turning push on later pushes what happens from then on, not every session of the past.
 */
export const branchPusher = (enabled: boolean): ProcessManager<BranchPushEffect> => ({
  name: 'branch-pushes',
  react: (stored: StoredEvent): readonly Reaction<BranchPushEffect>[] => {
    const sessionId = sessionIdOf(stored.stream);
    if (!enabled || sessionId === undefined) return [];
    const trigger = triggerOf(stored.event as SessionEvent);
    if (trigger === undefined) return [];
    // Running it again pushes what the remote has already (git says so and exits 0), and the decider ignores a success it has.
    return [
      effectThenCommand<BranchPushEffect, SessionCommand>(
        `${stored.id}:push`,
        stored.stream,
        sessionDecider,
        { kind: 'push-branches', sessionId, snapshot: trigger === 'turn' },
        { rerunnable: true },
      ),
    ];
  },
});

/** One repo to push: where it came from, its worktree as the gateway made it, and what the remote last took. */
interface PushTarget {
  readonly repo: string;
  readonly url: string;
  readonly worktreePath: string;
  readonly gitDir: string | undefined;
  readonly branch: string;
  readonly lastPushed: string | undefined;
}

/** The session's repos given by URL whose worktrees are there, from its history. */
const pushTargets = async (eventLog: EventLog, sessionId: string): Promise<readonly PushTarget[]> => {
  const history = (await eventLog.readStream<SessionEvent>(sessionStream(sessionId))).map((stored) => stored.event);
  const state = foldEvents(sessionDecider, history);
  const created = history.find((event) => event.type === 'SessionCreated');
  const workspace = history.findLast((event) => event.type === 'WorkspaceInitialized');
  if (state.status === 'none' || state.workspaceRemoved) return [];
  if (created?.type !== 'SessionCreated' || workspace?.type !== 'WorkspaceInitialized') return [];
  return created.data.repos.flatMap((repo) => {
    const made = workspace.data.repos.find((candidate) => candidate.name === repo.name);
    // A pre-provisioned repo (no url) has no remote the session named: nothing leaves the machine.
    if (repo.url === null || made === undefined || !existsSync(made.worktree_path)) return [];
    return [
      {
        repo: repo.name,
        url: repo.url,
        worktreePath: made.worktree_path,
        gitDir: made.git_dir,
        branch: made.branch,
        lastPushed: state.pushed[repo.name]?.commit,
      },
    ];
  });
};

interface PushOptions {
  readonly reposRoot: string;
  readonly clone: CloneSettings;
  readonly compareUrl: string;
}

/**
 * Commits the agent's work when asked (as a deployment's snapshot does) and pushes the branch
 * unless the remote has its tip already. Every failure (a planted program, a refused URL, a
 * remote that refuses) is an outcome a person is told of, never only a log line.
 */
const pushOne = async (
  target: PushTarget,
  request: BranchPushEffect,
  options: PushOptions,
): Promise<BranchPushOutcome | undefined> => {
  const about = { repo: target.repo, remote: withoutUrlCredentials(target.url), branch: target.branch };
  let commit = '';
  try {
    const worktree = await ownedWorktree(target.worktreePath, target.gitDir);
    if (request.snapshot)
      await snapshotWorktree(worktree, `The agent's work after a turn (session ${request.sessionId})`);
    const gitDir = await commonGitDir(worktree.gitDir);
    commit = await branchTip(gitDir, target.branch);
    if (commit === target.lastPushed) return undefined;
    await pushBuilderBranch(target.url, { gitDir, commit, branch: target.branch }, options);
    return { ...about, commit, pushed: true, compareUrl: compareUrlOf(options.compareUrl, target.repo, target.branch) };
  } catch (error) {
    const reason = withoutUrlCredentials(error instanceof Error ? error.message.trim() : String(error));
    return { ...about, commit, pushed: false, reason };
  }
};

/** Pushes a session's branches and says what happened as one command for the session. */
export const branchPushEffects = (
  options: PushOptions & { readonly eventLog: EventLog; readonly clock?: () => Date },
): EffectHandlers<BranchPushEffect> => {
  const clock = options.clock ?? (() => new Date());
  return {
    'push-branches': async (request): Promise<{ command: SessionCommand } | []> => {
      const outcomes: BranchPushOutcome[] = [];
      // One repo after another: they are few, and each push is one conversation with its own remote.
      for (const target of await pushTargets(options.eventLog, request.sessionId)) {
        const outcome = await pushOne(target, request, options);
        if (outcome) outcomes.push(outcome);
      }
      return outcomes.length === 0 ? [] : { command: { type: 'RecordBranchPushes', outcomes, now: clock() } };
    },
  };
};
