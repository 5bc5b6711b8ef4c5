import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

const ENTRY = join(process.cwd(), 'src', 'main.ts');

export interface GatewayProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly url: string;
  readonly output: () => string;
  /** SIGKILL: no shutdown, no flushing, as a crash or an OOM kill. */
  readonly kill: () => Promise<void>;
}

/**
 * Runs the real `npm start` entry point in child processes, each started with `env` (plus PATH
 * and HOME only). At the end of the test every one still running is stopped with SIGTERM, and a
 * gateway that does not stop within 15 s is reported with its last output and killed.
 */
export const gatewayProcesses = (t: ExecutionContext) => {
  const children: GatewayProcess[] = [];
  t.teardown(async () => {
    const running = children.filter(({ child }) => child.exitCode === null && child.signalCode === null);
    for (const { child } of running) child.kill('SIGTERM');
    const timer = setTimeout(() => {
      console.error(
        'a gateway did not stop on SIGTERM:',
        running.map(({ output }) => output().split('\n').slice(-8).join('\n')).join('\n----\n'),
      );
      for (const { child } of running) child.kill('SIGKILL');
    }, 15_000);
    await Promise.all(running.map(({ child }) => once(child, 'exit')));
    clearTimeout(timer);
    // A process the dead gateway started may still hold its output pipes open.
    for (const { child } of children) {
      child.stdout.destroy();
      child.stderr.destroy();
    }
  });
  return async (env: Record<string, string>): Promise<GatewayProcess> => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const kill = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    };
    for (let i = 0; i < 1200; i++) {
      const url = /listening on (http:\/\/[^\s"]+)/.exec(output)?.[1];
      if (url) {
        const started = { child, url, output: () => output, kill };
        children.push(started);
        return started;
      }
      if (child.exitCode !== null) throw new Error(`the gateway exited: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGKILL');
    throw new Error(`the gateway did not start: ${output}`);
  };
};
