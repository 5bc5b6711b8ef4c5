import type { ExecutionContext } from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { planDeployment } from '../../src/deployments/plan.js';
import { kubernetesCluster, loadKubeConfig, type LabCluster } from '../../src/labs/cluster.js';
import { APPLY_STEPS, labObjects, type KubeObject } from '../../src/labs/manifests.js';
import type { RepoFile } from '../../src/labs/repo-file.js';
import { testJob, type JobSuite } from '../../src/labs/test-job.js';
import type { FakeKube } from './fake-kube.js';
import { startKubeletCluster } from './kubelet-cluster.js';
import { until } from './eventually.js';

export interface KubeletLab {
  readonly fake: FakeKube;
  readonly cluster: LabCluster;
  readonly namespace: string;
  /** The lab's Service through the API server's proxy, as `kubectl proxy` would reach it. */
  readonly serviceProxyUrl: string;
  /** A suite's Job for this lab's code, as the executor makes it; every one made is kept in `jobs`. */
  readonly jobFor: (suite: JobSuite, argv: readonly string[], timeoutSeconds?: number) => KubeObject;
  readonly jobs: KubeObject[];
}

const repoFiles = (files: Readonly<Record<string, string | Buffer>>): RepoFile[] =>
  Object.entries(files).map(([path, content]) => ({
    path,
    content: Buffer.isBuffer(content) ? content : Buffer.from(content),
    binary: Buffer.isBuffer(content),
    executable: false,
  }));

/**
 * A repository's lab on the kubelet-backed fake cluster, applied as the executor applies it, its
 * app answering through its Service (unless `waitForApp` is false): for tests of what runs in it.
 */
export const startKubeletLab = async (
  t: ExecutionContext,
  files: Readonly<Record<string, string | Buffer>>,
  { project = 'shop', waitForApp = true } = {},
): Promise<KubeletLab> => {
  const { kube: fake } = await startKubeletCluster(t);
  const dir = await mkdtemp(join(tmpdir(), 'kubelet-lab-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'kubeconfig.yaml'), fake.kubeconfig);
  const cluster = kubernetesCluster(loadKubeConfig(join(dir, 'kubeconfig.yaml')));
  const all = repoFiles(files);
  const planned = planDeployment({ project, files: all, ingressDomain: 'lab.test', maxConfigMapSize: 1024 * 1024 });
  if (E.isLeft(planned)) throw new Error(planned.left);
  const { configmaps, pvc, runtime } = planned.right;
  const namespace = planned.right.plan.namespace;
  const code = { files: all, configmaps, pvc, bundle: null };
  const objects = labObjects(
    { ...code, project, namespace, host: `${project}.lab.test`, deploymentId: 'd-1', sessionId: 's-1', runtime },
    { ingressClass: 'nginx', clusterIssuer: 'letsencrypt', storageClass: null, fetchImage: 'busybox:1.36' },
  );
  for (const step of APPLY_STEPS) await cluster.apply(objects[step]);
  if (waitForApp)
    await until(
      async () => {
        const url = fake.serviceUrl(namespace, 'app');
        return (
          url !== undefined &&
          (await fetch(url).then(
            () => true,
            () => false,
          ))
        );
      },
      'the lab’s app to answer through its Service',
      180_000,
    );
  const jobs: KubeObject[] = [];
  return {
    fake,
    cluster,
    namespace,
    serviceProxyUrl: `${fake.url}/api/v1/namespaces/${namespace}/services/app:80/proxy`,
    jobs,
    jobFor: (suite, argv, timeoutSeconds = 120) => {
      const job = testJob({
        ...code,
        namespace,
        project,
        deploymentId: 'd-1',
        runId: 'deploy',
        suite,
        runtime,
        argv,
        ingressUrl: planned.right.plan.url,
        timeoutSeconds,
        fetchImage: 'busybox:1.36',
      });
      jobs.push(job);
      return job;
    },
  };
};
