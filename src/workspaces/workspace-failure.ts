import { CloneFailedError, FetchFailedError } from './clone.js';
import { MissingRefError, MissingWorktreeError, RefMismatchError, UnknownRepoError } from './git-workspace.js';
import { InvalidNameError } from './names.js';
import { RepoUrlRefusedError } from '../shared/repo-url.js';
import { TaskInitError } from './task-init.js';

/**
 * Why a workspace could not be made, and whether trying again may help. `reason` is what the
 * person is told: it names the repo and the cause. `output` is the tail of what git or
 * `task builder:init` printed, when one of them failed.
 */
export interface WorkspaceFailure {
  readonly permanent: boolean;
  readonly reason: string;
  readonly output?: string;
}

/**
 * Failures no retry can fix: what the request names (a ref that does not exist, a bad name, a
 * repo that is not there, a refused URL, a ref the kept builder branch does not start from), a
 * clone or a fetch that failed or ran out of time (git already tried to reach the server; the
 * README promises a failed clone is not retried, and a fetch is the same conversation with the
 * same server; going on from the stale clone instead would start the session from a base the
 * person did not ask for), and the project's own `task builder:init` failing.
 */
const PERMANENT = [
  MissingRefError,
  UnknownRepoError,
  InvalidNameError,
  MissingWorktreeError,
  RepoUrlRefusedError,
  CloneFailedError,
  FetchFailedError,
  RefMismatchError,
  TaskInitError,
] as const;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Sorts a failure to make a workspace. Anything not known to be permanent is treated as passing
 * (another git process holding a lock, EAGAIN or EBUSY, a file system that hiccups, and whatever
 * is not foreseen here): it is tried again with backoff, and when the tries run out the session
 * fails with the last reason, so no session waits for ever.
 */
export const classifyWorkspaceError = (error: unknown): WorkspaceFailure => {
  if (PERMANENT.some((kind) => error instanceof kind)) {
    const output =
      error instanceof CloneFailedError || error instanceof FetchFailedError || error instanceof TaskInitError
        ? error.output
        : undefined;
    return { permanent: true, reason: messageOf(error), ...(output === undefined ? {} : { output }) };
  }
  return { permanent: false, reason: messageOf(error).trim() || 'an unknown error' };
};
