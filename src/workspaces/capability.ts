import { resolve } from 'node:path';
import type { CapabilityModule } from '../capability/capability.js';
import { ProcessManagerRunner } from '../process-managers/runner.js';
import { cloneSettingsFrom } from './clone.js';
import { DEFAULT_WORKSPACE_ATTEMPTS, workspaceEffects, workspaceManager } from './workspace-manager-process.js';

/** Workspaces: a created session's clones, builder branches and worktrees, made by git (and task, when configured). */
export const workspacesCapability: CapabilityModule = {
  name: 'workspaces',
  events: [],
  views: [],
  create: (config, shared) => ({
    processManagers: [
      new ProcessManagerRunner({
        ...shared.runtimeOptions,
        processManager: workspaceManager,
        effects: workspaceEffects({
          basePath: resolve(shared.cwd, config.workspace.base_path),
          reposRoot: resolve(shared.cwd, config.workspace.repos_root),
          eventLog: shared.eventLog,
          task: {
            cli: config.workspace.task_cli,
            taskfile: resolve(shared.cwd, config.workspace.taskfile_path),
            mode: config.workspace.task_init,
            timeoutMs: config.workspace.task_timeout * 1000,
          },
          // git's credentials read from the environment once, kept in memory.
          clone: cloneSettingsFrom(config.workspace, process.env),
          attempts: DEFAULT_WORKSPACE_ATTEMPTS,
          agentUser: shared.agentUser,
        }),
        // A workspace that fails for a reason that may pass (a git lock, EAGAIN) is tried again for about 15 s, then the session fails saying why.
        retry: { attempts: DEFAULT_WORKSPACE_ATTEMPTS, initialDelayMs: 1000, factor: 2, maxDelayMs: 8000 },
      }),
    ],
  }),
};
