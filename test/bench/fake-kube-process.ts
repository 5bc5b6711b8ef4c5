import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * The fake Kubernetes API in its own process: its stored objects, watch history and CPU stay out
 * of the measured process. Labs whose namespace starts with `stuckPrefix` get pods that never
 * become ready (their image keeps pulling); those of labs starting with `slowPrefix` are ready
 * after `slowDelayMs`, as a real cluster's pods take seconds; every other lab's after `podDelayMs`.
 */
export const startFakeKubeProcess = async (
  options: {
    readonly podDelayMs?: number;
    readonly stuckPrefix?: string;
    readonly slowPrefix?: string;
    readonly slowDelayMs?: number;
  } = {},
): Promise<{ kubeconfig: string; close: () => Promise<void> }> => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { startFakeKube } = await import(${JSON.stringify(new URL('../support/fake-kube.ts', import.meta.url).href)});
       const stuck = ${JSON.stringify(options.stuckPrefix ?? null)};
       const slow = ${JSON.stringify(options.slowPrefix ?? null)};
       const fake = await startFakeKube({ podDelayMs: ${options.podDelayMs ?? 20}, podDelayFor: (namespace) => (slow !== null && namespace.startsWith(slow) ? ${options.slowDelayMs ?? 2000} : undefined), scenarioFor: ({ namespace }) => (stuck !== null && namespace.startsWith(stuck) ? 'pending' : 'ready') });
       process.stdout.write(JSON.stringify({ kubeconfig: fake.kubeconfig }) + '\\n');
       process.stdin.resume();
       process.stdin.on('end', () => fake.close().then(() => process.exit(0)));`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return {
    kubeconfig: (JSON.parse(line) as { kubeconfig: string }).kubeconfig,
    close: async () => {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
};
