import { gitEnvironment } from '../shared/git.js';
import { baseEnvironment, runBounded } from '../shared/run-bounded.js';

/** How `task builder:init` is run, when the operator configured it. */
export interface TaskInitOptions {
  /** The go-task binary. */
  readonly cli: string;
  readonly taskfile: string;
  readonly mode: 'after_native' | 'instead_of_native';
  readonly timeoutMs: number;
}

/** Enough of the output to see why it failed, small enough for an event. */
const OUTPUT_TAIL = 8_000;

export class TaskInitError extends Error {
  override readonly name = 'TaskInitError';
  constructor(
    reason: string,
    readonly output: string,
  ) {
    super(reason);
  }
}

/**
 * Runs `task --taskfile <file> builder:init BUILDER_NAME=<builder> REPOS=<a,b>` in the workspace,
 * as an argument array (never a shell), with names already validated. The child gets a minimal
 * environment: the gateway's secrets stay in the gateway; and every git it runs gets the
 * gateway's git protections (hooks, fsmonitor and the programs a repository's configuration could
 * name disarmed, no system or global configuration: `gitEnvironment`).
 */
export const runTaskInit = async (
  options: TaskInitOptions,
  run: { builder: string; repos: readonly string[]; cwd: string },
): Promise<void> => {
  const result = await runBounded(
    options.cli,
    ['--taskfile', options.taskfile, 'builder:init', `BUILDER_NAME=${run.builder}`, `REPOS=${run.repos.join(',')}`],
    {
      cwd: run.cwd,
      env: gitEnvironment({ env: baseEnvironment(run.cwd) }),
      timeoutMs: options.timeoutMs,
    },
  );
  const output = result.output.slice(-OUTPUT_TAIL);
  if (result.timedOut)
    throw new TaskInitError(`task builder:init did not finish within ${options.timeoutMs / 1000} s`, output);
  if (result.exitCode === 0) return;
  if (result.notFound) throw new TaskInitError(`task binary ${options.cli} was not found`, output);
  throw new TaskInitError(
    `task builder:init failed${result.exitCode === undefined ? ` (${result.signal ?? 'no exit code'})` : ` with exit code ${result.exitCode}`}`,
    output,
  );
};
