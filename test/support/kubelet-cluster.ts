import type { ExecutionContext } from 'ava';
import { startFakeKube, type FakeKube } from './fake-kube.js';
import { LocalKubelet } from './local-kubelet.js';

/** The fake API server with a local kubelet: a test cluster whose pods really run, torn down with the test. */
export const startKubeletCluster = async (t: ExecutionContext): Promise<{ kube: FakeKube; kubelet: LocalKubelet }> => {
  const kubelet = new LocalKubelet();
  const kube = await startFakeKube({ kubelet });
  t.teardown(async () => {
    await kube.close();
    await kubelet.close();
  });
  return { kube, kubelet };
};
