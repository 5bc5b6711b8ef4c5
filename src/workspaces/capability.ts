import { resolve } from 'node:path';
import type { CapabilityModule } from '../capability/capability.js';
import { ProcessManagerRunner } from '../process-managers/runner.js';
import { branchPushEffects, branchPusher } from './branch-push-process.js';
import { cloneSettingsFrom } from './clone.js';
import { DEFAULT_WORKSPACE_ATTEMPTS, workspaceEffects, workspaceManager } from './workspace-manager-process.js';

/** Workspaces: a created session's clones, builder branches and worktrees, made by git (and task, when configured). */
export const workspacesCapability: CapabilityModule = {
  name: 'workspaces',
  events: [],
  views: [],
  create: (config, shared) => {
    // git's credentials read from the environment once, kept in memory.
    const clone = cloneSettingsFrom(config.workspace, process.env);
    const reposRoot = resolve(shared.cwd, config.workspace.repos_root);
    return {
      processManagers: [
        new ProcessManagerRunner({
          ...shared.runtimeOptions,
          processManager: workspaceManager,
          effects: workspaceEffects({
            basePath: resolve(shared.cwd, config.workspace.base_path),
            reposRoot,
            eventLog: shared.eventLog,
            task: {
              cli: config.workspace.task_cli,
              taskfile: resolve(shared.cwd, config.workspace.taskfile_path),
              mode: config.workspace.task_init,
              timeoutMs: config.workspace.task_timeout * 1000,
            },
            clone,
            attempts: DEFAULT_WORKSPACE_ATTEMPTS,
            agentUser: shared.agentUser,
          }),
          // A workspace that fails for a reason that may pass (a git lock, EAGAIN) is tried again for about 15 s, then the session fails saying why.
          retry: { attempts: DEFAULT_WORKSPACE_ATTEMPTS, initialDelayMs: 1000, factor: 2, maxDelayMs: 8000 },
        }),
        new ProcessManagerRunner({
          ...shared.runtimeOptions,
          processManager: branchPusher(config.workspace.push),
          effects: branchPushEffects({
            eventLog: shared.eventLog,
            reposRoot,
            clone,
            compareUrl: config.workspace.compare_url,
          }),
        }),
      ],
    };
  },
};
