import type { EventLog } from '../events/event-log.js';
import { ownedWorktree, type OwnedWorktree } from '../shared/git.js';
import { sessionStream, type SessionEvent } from '../sessions/events.js';
import { deploymentStream, type DeploymentEvent } from './events.js';

type Requested = Extract<DeploymentEvent, { type: 'DeploymentRequested' }>['data'];

/** What a deployment's steps need to know, from the deployment's and its session's history. */
export interface DeploymentContext {
  readonly requested: Requested;
  readonly confirmedAt: Date;
  readonly project: string;
  /** The session's workspace (where the kustomize overlay goes) and the deployed repo's worktree. */
  readonly workspacePath: string;
  readonly worktreePath: string;
  /** The worktree with the git directory the gateway made for it. */
  readonly worktree: OwnedWorktree;
}

export class MissingContextError extends Error {
  override readonly name = 'MissingContextError';
}

export const loadDeploymentContext = async (eventLog: EventLog, deploymentId: string): Promise<DeploymentContext> => {
  const history = (await eventLog.readStream<DeploymentEvent>(deploymentStream(deploymentId))).map(
    (stored) => stored.event,
  );
  const requested = history.find((event) => event.type === 'DeploymentRequested');
  const confirmed = history.find((event) => event.type === 'DeploymentConfirmed');
  if (requested?.type !== 'DeploymentRequested' || confirmed?.type !== 'DeploymentConfirmed')
    throw new MissingContextError(`deployment ${deploymentId} was not requested and confirmed`);
  const session = (await eventLog.readStream<SessionEvent>(sessionStream(requested.data.session_id))).map(
    (stored) => stored.event,
  );
  const created = session.find((event) => event.type === 'SessionCreated');
  const workspace = session.find((event) => event.type === 'WorkspaceInitialized');
  if (created?.type !== 'SessionCreated' || workspace?.type !== 'WorkspaceInitialized')
    throw new MissingContextError(`session ${requested.data.session_id} has no workspace`);
  const worktree = workspace.data.repos.find((repo) => repo.name === requested.data.repo);
  if (!worktree)
    throw new MissingContextError(
      `session ${requested.data.session_id} has no worktree of repo ${requested.data.repo}`,
    );
  return {
    requested: requested.data,
    confirmedAt: new Date(confirmed.data.confirmed_at),
    project: created.data.project,
    workspacePath: workspace.data.workspace_path,
    worktreePath: worktree.worktree_path,
    worktree: await ownedWorktree(worktree.worktree_path, worktree.git_dir),
  };
};

/** A session's worktree of `repo` as the gateway made it (its own git directory), from the session's history. */
export const sessionWorktree = async (eventLog: EventLog, sessionId: string, repo: string): Promise<OwnedWorktree> => {
  const session = (await eventLog.readStream<SessionEvent>(sessionStream(sessionId))).map((stored) => stored.event);
  const workspace = session.findLast((event) => event.type === 'WorkspaceInitialized');
  const made =
    workspace?.type === 'WorkspaceInitialized' ? workspace.data.repos.find((r) => r.name === repo) : undefined;
  if (!made) throw new MissingContextError(`session ${sessionId} has no worktree of repo ${repo}`);
  return ownedWorktree(made.worktree_path, made.git_dir);
};
