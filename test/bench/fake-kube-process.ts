import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * The fake Kubernetes API in its own process: its stored objects, watch history and CPU stay out
 * of the measured process. Labs whose namespace starts with `stuckPrefix` get pods that never
 * become ready (their image keeps pulling); every other lab's pods are ready after `podDelayMs`.
 */
export const startFakeKubeProcess = async (options: { readonly podDelayMs?: number; readonly stuckPrefix?: string } = {}): Promise<{ kubeconfig: string; close: () => Promise<void> }> => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { startFakeKube } = await import(${JSON.stringify(new URL('../support/fake-kube.ts', import.meta.url).href)});
       const stuck = ${JSON.stringify(options.stuckPrefix ?? null)};
       const fake = await startFakeKube({ podDelayMs: ${options.podDelayMs ?? 20}, scenarioFor: ({ namespace }) => (stuck !== null && namespace.startsWith(stuck) ? 'pending' : 'ready') });
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
