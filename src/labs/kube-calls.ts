import { ApiException, PatchStrategy, type KubernetesObjectApi } from '@kubernetes/client-node';
import type { KubeObject } from './manifests.js';

/** The calls every part of the lab adapter shares: the API server's errors explained, and server-side apply. */

/** The one field manager of everything the gateway applies: re-applying converges, never duplicates. */
const FIELD_MANAGER = 'ai-dev-gateway';

/** A 4xx from the API server other than a conflict or throttling: retrying the same request cannot help. */
export class PermanentKubeError extends Error {
  override readonly name = 'PermanentKubeError';
}

/** The API server's own message (its Status object), for the failure event. */
export const explain = (error: unknown): Error => {
  if (!(error instanceof ApiException)) return error instanceof Error ? error : new Error(String(error));
  let message = `HTTP ${error.code}`;
  try {
    const body: unknown = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    if (body && typeof body === 'object' && 'message' in body) message = `${message}: ${String(body.message)}`;
  } catch {
    // not JSON: keep the status code
  }
  const permanent = error.code >= 400 && error.code < 500 && error.code !== 409 && error.code !== 429;
  return permanent ? new PermanentKubeError(message) : new Error(message);
};

/** `LabCluster.apply`: server-side apply of each object, in order. */
export const applyObjects = async (objects: KubernetesObjectApi, list: readonly KubeObject[]): Promise<void> => {
  for (const object of list) {
    try {
      await objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (error) {
      throw explain(error);
    }
  }
};
