import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkWorkspaceRequest,
  describeWorktree,
  prepareWorkspace,
  type PreparedRepo,
  type WorkspaceRequest,
} from './git-workspace.js';
import { makeFolder } from '../files/make-folder.js';
import { runTaskInit, type TaskInitOptions } from './task-init.js';

/**
 * A builder's workspace made the gateway's own way (git worktrees), and then, or instead, by the
 * project's `task builder:init` when a task binary is configured and the Taskfile exists.
 * Either way the result describes the worktrees found at the layout's paths.
 */
export const initializeWorkspace = async (
  options: WorkspaceRequest & { readonly task?: TaskInitOptions | undefined },
): Promise<{ workspacePath: string; repos: PreparedRepo[] }> => {
  const task = options.task && options.task.cli !== '' && existsSync(options.task.taskfile) ? options.task : undefined;
  if (task?.mode !== 'instead_of_native') {
    const prepared = await prepareWorkspace(options);
    if (task)
      await runTaskInit(task, {
        builder: options.builder,
        repos: options.repos.map((repo) => repo.name),
        cwd: prepared.workspacePath,
      });
    return prepared;
  }
  const { workspacePath } = await checkWorkspaceRequest(options);
  await makeFolder(workspacePath, options.agentUser ? 0o700 : 0o777);
  await runTaskInit(task, {
    builder: options.builder,
    repos: options.repos.map((repo) => repo.name),
    cwd: workspacePath,
  });
  const repos: PreparedRepo[] = [];
  for (const repo of options.repos)
    repos.push(await describeWorktree(repo.name, join(workspacePath, 'repos', repo.name), repo.ref));
  return { workspacePath, repos };
};
