import { execa } from 'execa';

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
  constructor(reason: string, readonly output: string) {
    super(reason);
  }
}

/**
 * Runs `task --taskfile <file> builder:init BUILDER_NAME=<builder> REPOS=<a,b>` in the workspace,
 * as an argument array (never a shell), with names already validated. The child gets a minimal
 * environment: the gateway's secrets stay in the gateway.
 */
export const runTaskInit = async (options: TaskInitOptions, run: { builder: string; repos: readonly string[]; cwd: string }): Promise<void> => {
  const subprocess = execa(options.cli, ['--taskfile', options.taskfile, 'builder:init', `BUILDER_NAME=${run.builder}`, `REPOS=${run.repos.join(',')}`], {
    cwd: run.cwd,
    all: true,
    reject: false,
    stdin: 'ignore',
    // Its own process group, so a timeout stops what the task started too (a `sleep` holding the output open).
    detached: true,
    extendEnv: false,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? run.cwd, LANG: process.env['LANG'] ?? 'C.UTF-8' },
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(subprocess.pid, 'SIGTERM');
    setTimeout(() => killGroup(subprocess.pid, 'SIGKILL'), 2_000).unref();
  }, options.timeoutMs);
  const result = await subprocess;
  clearTimeout(timer);
  const output = (result.all ?? '').slice(-OUTPUT_TAIL);
  if (timedOut) throw new TaskInitError(`task builder:init did not finish within ${options.timeoutMs / 1000} s`, output);
  if (!result.failed) return;
  if (result.code === 'ENOENT') throw new TaskInitError(`task binary ${options.cli} was not found`, output);
  throw new TaskInitError(`task builder:init failed${result.exitCode === undefined ? ` (${result.signal ?? result.code ?? 'no exit code'})` : ` with exit code ${result.exitCode}`}`, output);
};

const killGroup = (pid: number | undefined, signal: NodeJS.Signals): void => {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
};
