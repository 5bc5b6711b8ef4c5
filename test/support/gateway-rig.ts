import type { ExecutionContext } from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from './fake-kube.js';
import { gatewayProcesses, type GatewayProcess } from './gateway-process.js';
import { makeRepo } from './test-gateway.js';

/**
 * What the crash tests kill and start again: the real `npm start` entry point on a folder of its
 * own, with one repository `api`, the fake Kubernetes API and the shipped configuration without
 * agents (plus `configure`'s edits); `start()` starts a gateway process on it.
 */
export const gatewayRig = async (
  t: ExecutionContext,
  options: { readonly token: string; readonly kube?: FakeKubeOptions; readonly configure?: (yaml: string) => string },
): Promise<{ readonly dir: string; readonly fake: FakeKube; readonly start: () => Promise<GatewayProcess> }> => {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-rig-'));
  const fake = await startFakeKube(options.kube);
  t.teardown(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });
  const processes = gatewayProcesses(t);
  await makeRepo(join(dir, 'repos'), 'api');
  await writeFile(join(dir, 'kubeconfig.yaml'), fake.kubeconfig);
  const shipped = (await readFile('config/backend.yaml', 'utf8')).replace(/enabled: true /, 'enabled: false');
  await writeFile(join(dir, 'backend.yaml'), options.configure ? options.configure(shipped) : shipped);
  const env = {
    GATEWAY_CONFIG: join(dir, 'backend.yaml'),
    GATEWAY_DATA_DIR: dir,
    GATEWAY_WORKSPACE: dir,
    PORT: '0',
    GATEWAY_TOKENS: `ops:operator:${options.token}`,
    KUBECONFIG: join(dir, 'kubeconfig.yaml'),
    GATEWAY_BUNDLE_SECRET: 'bundle-secret-for-the-crash-tests',
  };
  return { dir, fake, start: () => processes(env) };
};
