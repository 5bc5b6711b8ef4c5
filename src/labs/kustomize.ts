import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { refuseLinkedFolder } from '../files/planted-link.js';
import { replaceFileAtomically } from '../files/replace-file.js';
import { APPLY_STEPS, type ApplyStep, type KubeObject } from './manifests.js';

const KUSTOMIZATION = 'kustomization.yaml';

// lineWidth 0: long values (scripts, base64) stay on one line instead of being folded.
const documentsOf = (objects: readonly KubeObject[]): string =>
  objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n');

/**
 * Writes a lab's objects as a kustomization a person can apply with
 * `kubectl apply --server-side -k <dir>`: one `<step>.yaml` per step that has objects, in step
 * order, and the kustomization listing them. The kustomization is written last, so it never
 * names a missing file; step files of an earlier write that are no longer listed are removed.
 * Returns the names of the written files.
 */
export const writeKustomization = async (
  dir: string,
  objects: Partial<Record<ApplyStep, KubeObject[]>>,
): Promise<string[]> => {
  await refuseLinkedFolder(dirname(dir));
  await refuseLinkedFolder(dir);
  await mkdir(dir, { recursive: true });
  const steps = APPLY_STEPS.filter((step) => (objects[step]?.length ?? 0) > 0);
  const resources = steps.map((step) => `${step}.yaml`);
  for (const step of steps) await replaceFileAtomically(join(dir, `${step}.yaml`), documentsOf(objects[step]!));
  await replaceFileAtomically(
    join(dir, KUSTOMIZATION),
    stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources }),
  );
  for (const step of APPLY_STEPS) if (!steps.includes(step)) await rm(join(dir, `${step}.yaml`), { force: true });
  return [...resources, KUSTOMIZATION];
};
