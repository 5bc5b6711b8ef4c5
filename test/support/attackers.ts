import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

/** Starts `count` attacker processes (`attacker.ts`) against `url`; resolves once each is sending. */
export const startAttackers = async (url: string, count: number): Promise<ChildProcess[]> => {
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'attacker.ts'), url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(children.map((child) => once(child.stdout!, 'data')));
  return children;
};

/** Stops them and adds up what each sent, by response status. */
export const stopAttackers = async (children: readonly ChildProcess[]): Promise<Record<string, number>> => {
  const totals: Record<string, number> = {};
  await Promise.all(
    children.map(async (child) => {
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      const counts = JSON.parse(output.trim().split('\n').pop() || '{}') as Record<string, number>;
      for (const [status, count] of Object.entries(counts)) totals[status] = (totals[status] ?? 0) + count;
    }),
  );
  return totals;
};
