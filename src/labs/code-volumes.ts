import type { Bundle } from './bundles.js';
import type { RepoFile } from './repo-file.js';
import { APP_DIR } from './runtime-kind.js';

/** What a pod needs to gather a commit's code: its files, the ConfigMaps holding them, and the large ones' bundle. */
export interface CodeSource {
  /** Every file of the commit, with contents. */
  readonly files: readonly RepoFile[];
  readonly configmaps: readonly Bundle[];
  /** Files too large for ConfigMaps; may have none. */
  readonly pvc: Bundle;
  /** Signed URL of the PVC's files; null when the PVC has none. */
  readonly bundle: { readonly url: string; readonly sha256: string } | null;
}

/**
 * The init container's script. The bundle is fetched only when its marker is missing: the PVC
 * outlives the pod, and the signed URL expires, so a pod restarted later must not need it. The
 * marker is touched only after tar succeeded (tar fails on a truncated or empty gzip stream;
 * `pipefail` is not portable to every sh). ConfigMap files are symlinks into `..data`, hence
 * `cp -L`, and the `..`-dirs of the projection are removed from the copy.
 */
const PREPARE_SCRIPT = [
  'set -eu',
  'if [ -n "${BUNDLE_SHA256:-}" ] && [ ! -e "/bundle/.sha256-$BUNDLE_SHA256" ]; then',
  '  rm -rf /bundle/files /bundle/.sha256-*',
  '  mkdir -p /bundle/files',
  '  wget -qO- "$BUNDLE_URL" | tar -xzf - -C /bundle/files',
  '  touch "/bundle/.sha256-$BUNDLE_SHA256"',
  'fi',
  'if [ -d /code-configmaps ]; then',
  `  cp -rL /code-configmaps/. ${APP_DIR}/`,
  `  rm -rf ${APP_DIR}/..?*`,
  'fi',
  `if [ -d /bundle/files ]; then cp -r /bundle/files/. ${APP_DIR}/; fi`,
].join('\n');

export const hasLargeFiles = (input: CodeSource): boolean => input.pvc.files.length > 0;

/**
 * The pod's volumes, and where the init container mounts each: the code's ConfigMaps, the large
 * files' folder, and the `app` directory it fills for the pod's container. The lab keeps the large
 * files on its PVC (fetched once, kept across restarts); a test Job fetches them into an emptyDir
 * of its own, so it never competes with the lab's pod for a ReadWriteOnce claim.
 */
export const codeVolumes = (
  input: CodeSource,
  largeFilesOn: 'pvc' | 'emptyDir',
): { volumes: Record<string, unknown>[]; prepareMounts: Record<string, unknown>[] } => {
  const executable = new Set(input.files.filter((file) => file.executable).map((file) => file.path));
  const volumes: Record<string, unknown>[] = [];
  const prepareMounts: Record<string, unknown>[] = [];
  if (input.configmaps.length > 0) {
    volumes.push({
      name: 'code-configmaps',
      projected: {
        sources: input.configmaps.map((bundle) => ({
          configMap: {
            name: bundle.name,
            items: bundle.files.map((entry) => ({
              key: entry.key,
              path: entry.path,
              ...(executable.has(entry.path) ? { mode: 0o755 } : {}),
            })),
          },
        })),
      },
    });
    prepareMounts.push({ name: 'code-configmaps', mountPath: '/code-configmaps', readOnly: true });
  }
  if (hasLargeFiles(input)) {
    volumes.push(
      largeFilesOn === 'pvc'
        ? { name: input.pvc.name, persistentVolumeClaim: { claimName: input.pvc.name } }
        : { name: input.pvc.name, emptyDir: {} },
    );
    prepareMounts.push({ name: input.pvc.name, mountPath: '/bundle' });
  }
  volumes.push({ name: 'app', emptyDir: {} });
  prepareMounts.push({ name: 'app', mountPath: APP_DIR });
  return { volumes, prepareMounts };
};

/** The init container that gathers the code (ConfigMaps, and the bundle of large files) into `APP_DIR`. */
export const prepareCodeContainer = (
  input: CodeSource,
  fetchImage: string,
  prepareMounts: Record<string, unknown>[],
): Record<string, unknown> => {
  const fetchEnv =
    hasLargeFiles(input) && input.bundle
      ? [
          { name: 'BUNDLE_URL', value: input.bundle.url },
          { name: 'BUNDLE_SHA256', value: input.bundle.sha256 },
        ]
      : [];
  return {
    name: 'prepare-code',
    image: fetchImage,
    command: ['sh', '-c', PREPARE_SCRIPT],
    ...(fetchEnv.length > 0 ? { env: fetchEnv } : {}),
    volumeMounts: prepareMounts,
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  };
};
