import { execa } from 'execa';

export interface BoundedRun {
  /** The exit code; undefined when killed by a signal or not started. */
  readonly exitCode: number | undefined;
  /** stdout and stderr interleaved, whole. */
  readonly output: string;
  readonly timedOut: boolean;
  /** The binary was not found. */
  readonly notFound: boolean;
  readonly signal: string | undefined;
  readonly durationMs: number;
}

/**
 * Runs a command as an argument array (never a shell) in its own process group, so a timeout
 * stops what it started too (a server it left running, a `sleep` holding the output open), with
 * only the environment given (the gateway's secrets stay in the gateway).
 */
export const runBounded = async (
  command: string,
  args: readonly string[],
  options: { cwd: string; env: Readonly<Record<string, string>>; timeoutMs: number },
): Promise<BoundedRun> => {
  const started = performance.now();
  const subprocess = execa(command, args, {
    cwd: options.cwd,
    all: true,
    reject: false,
    stdin: 'ignore',
    detached: true,
    extendEnv: false,
    env: { ...options.env },
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(subprocess.pid, 'SIGTERM');
    setTimeout(() => killGroup(subprocess.pid, 'SIGKILL'), 2_000).unref();
  }, options.timeoutMs);
  const result = await subprocess;
  clearTimeout(timer);
  return {
    exitCode: result.exitCode,
    output: typeof result.all === 'string' ? result.all : '',
    timedOut,
    notFound: result.code === 'ENOENT',
    signal: result.signal,
    durationMs: Math.round(performance.now() - started),
  };
};

/** A minimal environment for a child: where to find programs, a home, a locale. */
export const baseEnvironment = (home: string): Record<string, string> => ({
  PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  HOME: process.env['HOME'] ?? home,
  LANG: process.env['LANG'] ?? 'C.UTF-8',
});

const killGroup = (pid: number | undefined, signal: NodeJS.Signals): void => {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
};
