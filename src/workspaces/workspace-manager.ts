import type { DomainEvent } from '../events/domain-event.js';
import type { StoredEvent } from '../events/stored-event.js';
import type { EffectHandlers, ProcessManager, Reaction } from '../process-managers/process-manager.js';
import type { SessionEvent } from '../sessions/events.js';
import { existsSync } from 'node:fs';
import { replaceFileDurably } from '../files/replace-file.js';
import { join } from 'node:path';
import type { EventLog } from '../events/event-log.js';
import { CloneFailedError, type CloneSettings } from './clone.js';
import { MissingWorktreeError, removeWorkspace, UnknownRepoError, type RepoSpec } from './git-workspace.js';
import { initializeWorkspace } from './initialize.js';
import { InvalidNameError } from './names.js';
import { RepoUrlRefusedError } from './repo-url.js';
import { ARCH_DECISIONS_FILE, archDecisionsTemplate, writeSessionState } from './session-state-file.js';
import { TaskInitError, type TaskInitOptions } from './task-init.js';

export type WorkspaceEffect =
  | { readonly kind: 'prepare-workspace'; readonly builder: string; readonly repos: readonly RepoSpec[] }
  | { readonly kind: 'write-session-state'; readonly sessionId: string }
  | { readonly kind: 'remove-workspace'; readonly builder: string; readonly repos: readonly string[] };

/**
 * The workspace manager, pure: a created session asks for its workspace, a session closed with
 * `remove_workspace` for its removal; the runner performs the effects and appends what
 * happened to the session's stream.
 */
export const workspaceManager: ProcessManager<WorkspaceEffect> = {
  name: 'workspaces',
  react: (stored: StoredEvent): readonly Reaction<WorkspaceEffect>[] => {
    const event = stored.event as SessionEvent;
    if (!stored.stream.startsWith('session-')) return [];
    if (event.type === 'SessionCreated') {
      return [
        {
          type: 'effect',
          key: `${stored.id}:prepare`,
          stream: stored.stream,
          effect: { kind: 'prepare-workspace', builder: `${event.data.category}-${event.data.project}`, repos: event.data.repos },
        },
      ];
    }
    const sessionId = stored.stream.slice('session-'.length);
    const stateFile: Reaction<WorkspaceEffect> = { type: 'effect', key: `${stored.id}:state-file`, stream: stored.stream, effect: { kind: 'write-session-state', sessionId } };
    if (event.type === 'SessionClosed' && event.data.remove_workspace) {
      return [{ type: 'effect', key: `${stored.id}:remove`, stream: stored.stream, effect: { kind: 'remove-workspace', builder: event.data.builder, repos: event.data.repos } }];
    }
    // Every other change of a session is mirrored into its workspace's state file.
    return event.type === 'WorkspaceRemoved' ? [] : [stateFile];
  },
};

/** Names what the session needs to know; a failure the operator must fix is recorded, not retried. */
export const workspaceEffects = (options: {
  basePath: string;
  reposRoot: string;
  eventLog: EventLog;
  task?: TaskInitOptions | undefined;
  /** The URL policy, clone timeout and credentials (default: the shipped configuration's, no credentials). */
  clone?: CloneSettings | undefined;
  clock?: () => Date;
}): EffectHandlers<WorkspaceEffect> => {
  const clock = options.clock ?? (() => new Date());
  return {
    'prepare-workspace': async (request): Promise<readonly DomainEvent[]> => {
      try {
        const result = await initializeWorkspace({ basePath: options.basePath, reposRoot: options.reposRoot, builder: request.builder, repos: request.repos, task: options.task, clone: options.clone });
        const decisions = join(result.workspacePath, ARCH_DECISIONS_FILE);
        if (!existsSync(decisions)) await replaceFileDurably(decisions, archDecisionsTemplate(request.builder));
        return [{ type: 'WorkspaceInitialized', data: { workspace_path: result.workspacePath, repos: result.repos, initialized_at: clock().toISOString() } }];
      } catch (error) {
        const failed = { builder: request.builder, reason: error instanceof Error ? error.message : String(error), failed_at: clock().toISOString() };
        if (error instanceof TaskInitError || error instanceof CloneFailedError) return [{ type: 'WorkspaceFailed', data: { ...failed, output: error.output } }];
        if (error instanceof UnknownRepoError || error instanceof InvalidNameError || error instanceof MissingWorktreeError || error instanceof RepoUrlRefusedError) return [{ type: 'WorkspaceFailed', data: failed }];
        throw error;
      }
    },
    'write-session-state': async (request) => {
      await writeSessionState(options.eventLog, request.sessionId);
      return [];
    },
    'remove-workspace': async (request): Promise<readonly DomainEvent[]> => {
      await removeWorkspace({ basePath: options.basePath, reposRoot: options.reposRoot, builder: request.builder, repos: request.repos });
      return [{ type: 'WorkspaceRemoved', data: { workspace_path: join(options.basePath, request.builder), removed_at: clock().toISOString() } }];
    },
  };
};
