import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** A bench gateway in a process of its own, and its CPU time so far (user and system, ms). */
export interface BenchGatewayProcess {
  readonly url: string;
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

/**
 * `startBenchGateway` in its own process, as the gateway runs in production: the bench's client
 * (its HTTP calls, its polling, its git commits) then costs nothing on the gateway's one thread,
 * and the gateway's CPU is measured apart from it. Asked `cpu` on stdin, it answers its
 * `process.cpuUsage()` on stdout; stdin closing stops it.
 */
export const startBenchGatewayProcess = async (
  dir: string,
  token: string,
  options: { readonly kubeconfig?: string; readonly env?: Readonly<Record<string, string>> } = {},
): Promise<BenchGatewayProcess> => {
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=64',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { startBenchGateway } = await import(${JSON.stringify(new URL('./bench-gateway.ts', import.meta.url).href)});
       const { createInterface } = await import('node:readline');
       const gateway = await startBenchGateway(${JSON.stringify(dir)}, ${JSON.stringify(token)}, ${JSON.stringify(options)});
       process.stdout.write(JSON.stringify({ url: gateway.url }) + '\\n');
       const lines = createInterface({ input: process.stdin });
       lines.on('line', () => { const { user, system } = process.cpuUsage(); process.stdout.write(JSON.stringify({ cpuMs: (user + system) / 1000 }) + '\\n'); });
       lines.on('close', () => gateway.stop().then(() => process.exit(0)));`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error('the bench gateway exited');
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const { url } = (await next()) as { url: string };
  return {
    url,
    cpuMs: async () => {
      child.stdin.write('cpu\n');
      return ((await next()) as { cpuMs: number }).cpuMs;
    },
    close: async () => {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
};
