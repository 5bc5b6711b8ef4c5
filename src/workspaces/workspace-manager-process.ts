import type { StoredEvent } from '../events/stored-event.js';
import {
  effectThenCommand,
  type EffectHandlers,
  type ProcessManager,
  type Reaction,
} from '../process-managers/process-manager.js';
import { sessionDecider, type SessionCommand } from '../sessions/decider.js';
import { sessionIdOf, type SessionEvent } from '../sessions/events.js';
import { existsSync } from 'node:fs';
import { replaceFileDurably } from '../files/replace-file.js';
import { handOver, ownedBy, type AgentUser } from '../shared/agent-user.js';
import { join } from 'node:path';
import type { EventLog } from '../events/event-log.js';
import type { CloneSettings } from './clone.js';
import { removeWorkspace, type RepoSpec } from './git-workspace.js';
import { initializeWorkspace } from './initialize.js';
import { ARCH_DECISIONS_FILE, archDecisionsTemplate, writeSessionState } from './session-state-file.js';
import type { TaskInitOptions } from './task-init.js';
import { classifyWorkspaceError } from './workspace-failure.js';

export type WorkspaceEffect =
  | { readonly kind: 'prepare-workspace'; readonly builder: string; readonly repos: readonly RepoSpec[] }
  | { readonly kind: 'write-session-state'; readonly sessionId: string }
  | { readonly kind: 'remove-workspace'; readonly builder: string; readonly repos: readonly string[] };

/**
 * The workspace manager, pure: a created session asks for its workspace, a session closed with
 * `remove_workspace` for its removal. What happened is a command for the session's decider (its
 * one write path: the session's rules and expected revision decide what is recorded).
 */
export const workspaceManager: ProcessManager<WorkspaceEffect> = {
  name: 'workspaces',
  react: (stored: StoredEvent): readonly Reaction<WorkspaceEffect>[] => {
    const event = stored.event as SessionEvent;
    const sessionId = sessionIdOf(stored.stream);
    if (sessionId === undefined) return [];
    if (event.type === 'SessionCreated') {
      return [
        effectThenCommand<WorkspaceEffect, SessionCommand>(`${stored.id}:prepare`, stored.stream, sessionDecider, {
          kind: 'prepare-workspace',
          builder: `${event.data.category}-${event.data.project}`,
          repos: event.data.repos,
        }),
      ];
    }
    // Rewritten from the log each time: running it again after a crash is harmless, so it keeps no proof.
    const stateFile: Reaction<WorkspaceEffect> = {
      type: 'effect',
      key: `${stored.id}:state-file`,
      stream: stored.stream,
      effect: { kind: 'write-session-state', sessionId },
      rerunnable: true,
    };
    if (event.type === 'SessionClosed' && event.data.remove_workspace) {
      return [
        effectThenCommand<WorkspaceEffect, SessionCommand>(`${stored.id}:remove`, stored.stream, sessionDecider, {
          kind: 'remove-workspace',
          builder: event.data.builder,
          repos: event.data.repos,
        }),
      ];
    }
    // Every other change of a session is mirrored into its workspace's state file.
    return event.type === 'WorkspaceRemoved' ? [] : [stateFile];
  },
};

/** The tries a workspace gets when it fails for a reason that may pass (the runner's retry policy must allow as many). */
export const DEFAULT_WORKSPACE_ATTEMPTS = 5;

/**
 * Makes and removes workspaces, and says what happened as a command for the session. A failure
 * retrying cannot fix fails the session at once; one that may pass is thrown (the runner tries
 * again, with backoff) until the last try, which fails the session with the last reason.
 */
export const workspaceEffects = (options: {
  basePath: string;
  reposRoot: string;
  eventLog: EventLog;
  task?: TaskInitOptions | undefined;
  /** The URL policy, clone timeout and credentials (default: the shipped configuration's, no credentials). */
  clone?: CloneSettings | undefined;
  /** The runner's tries (`retry.attempts`), default DEFAULT_WORKSPACE_ATTEMPTS. */
  attempts?: number;
  /** The agent's own user: a new workspace is handed to it once whole. */
  agentUser?: AgentUser | undefined;
  clock?: () => Date;
}): EffectHandlers<WorkspaceEffect> => {
  const clock = options.clock ?? (() => new Date());
  const attempts = options.attempts ?? DEFAULT_WORKSPACE_ATTEMPTS;
  return {
    'prepare-workspace': async (request, context): Promise<{ command: SessionCommand }> => {
      try {
        const result = await initializeWorkspace({
          basePath: options.basePath,
          reposRoot: options.reposRoot,
          builder: request.builder,
          repos: request.repos,
          task: options.task,
          clone: options.clone,
          agentUser: options.agentUser,
        });
        const decisions = join(result.workspacePath, ARCH_DECISIONS_FILE);
        if (!existsSync(decisions))
          await replaceFileDurably(decisions, archDecisionsTemplate(request.builder), { owner: options.agentUser });
        // Until now the agent could not enter it (0700, the gateway's): nothing in it can be a planted link.
        if (options.agentUser && !(await ownedBy(result.workspacePath, options.agentUser)))
          await handOver(result.workspacePath, options.agentUser);
        return {
          command: {
            type: 'RecordWorkspaceInitialized',
            workspacePath: result.workspacePath,
            repos: result.repos,
            now: clock(),
          },
        };
      } catch (error) {
        const failure = classifyWorkspaceError(error);
        if (!failure.permanent && context.attempt < attempts) throw error;
        const reason = failure.permanent ? failure.reason : `${failure.reason} (tried ${context.attempt} times)`;
        return { command: { type: 'RecordWorkspaceFailed', reason, output: failure.output ?? null, now: clock() } };
      }
    },
    'write-session-state': async (request, context) => {
      await writeSessionState(options.eventLog, request.sessionId, { asOfRevision: context.cause.revision });
      return [];
    },
    'remove-workspace': async (request): Promise<{ command: SessionCommand }> => {
      await removeWorkspace({
        basePath: options.basePath,
        reposRoot: options.reposRoot,
        builder: request.builder,
        repos: request.repos,
      });
      return {
        command: {
          type: 'RecordWorkspaceRemoved',
          workspacePath: join(options.basePath, request.builder),
          now: clock(),
        },
      };
    },
  };
};
