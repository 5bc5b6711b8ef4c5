import type { EventLog } from '../events/event-log.js';
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
  };
};
