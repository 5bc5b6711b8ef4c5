import * as E from 'fp-ts/lib/Either.js';
import { splitIntoBundles, type Bundle } from '../labs/bundles.js';
import { STEPS, type DeploymentPlan } from './events.js';
import { LAB_MANIFEST, parseLabManifest, type LabManifest } from '../labs/lab-manifest.js';
import type { RepoFile } from '../labs/repo-file.js';
import { detectRuntime, type Runtime } from '../labs/runtime.js';

export interface PlannedDeployment {
  readonly plan: DeploymentPlan;
  /** The bundles with their files, for the execution (the plan only names and weighs them). */
  readonly configmaps: readonly Bundle[];
  readonly pvc: Bundle;
  readonly runtime: Runtime;
  readonly manifest: LabManifest;
}

/**
 * The contract's plan for a commit's files: namespace `<project>-lab`, the files split into
 * ConfigMaps and a PVC, the detected (or declared) runtime, and the lab's URL. A repository
 * whose runtime cannot be told, or whose lab manifest is wrong, is refused with the reason.
 */
export const planDeployment = (options: {
  readonly project: string;
  readonly files: readonly RepoFile[];
  readonly ingressDomain: string;
  readonly maxConfigMapSize: number;
}): E.Either<string, PlannedDeployment> => {
  const manifestFile = options.files.find((file) => file.path === LAB_MANIFEST);
  const manifest = parseLabManifest(manifestFile?.content.toString('utf8'));
  if (E.isLeft(manifest)) return manifest;
  const texts = new Map(
    options.files.map((file) => [file.path, file.binary ? '' : file.content.toString('utf8')] as const),
  );
  const detected = detectRuntime(texts, manifest.right);
  if (E.isLeft(detected)) return detected;
  const runtime = detected.right;
  const { configmaps, pvc } = splitIntoBundles(options.files, options.maxConfigMapSize);
  const weigh = (bundle: Bundle) => ({ name: bundle.name, files: bundle.files.length, bytes: bundle.bytes });
  return E.right({
    plan: {
      namespace: `${options.project}-lab`,
      strategy: 'configmap_pvc',
      runtime: { kind: runtime.kind, image: runtime.image, command: [...runtime.command] },
      configmaps: configmaps.map(weigh),
      pvcs: pvc.files.length > 0 ? [weigh(pvc)] : [],
      url: `https://${options.project}.${options.ingressDomain}`,
      steps: [...STEPS],
    },
    configmaps,
    pvc,
    runtime,
    manifest: manifest.right,
  });
};
