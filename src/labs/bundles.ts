import type { RepoFile } from './repo-file.js';

/** A file in a ConfigMap: its safe key and the path it is mounted at (the volume's `items`). */
interface BundledFile {
  readonly key: string;
  readonly path: string;
  readonly bytes: number;
  readonly binary: boolean;
}

export interface Bundle {
  readonly name: string;
  readonly files: readonly BundledFile[];
  /** What the object's data weighs (binary files base64-encoded). */
  readonly bytes: number;
}

/** Room kept in every ConfigMap for its metadata and the JSON around the data. */
const RESERVE = 16 * 1024;

/** What a file adds to a ConfigMap: its data (base64 for binaries) and its key. */
const costOf = (file: RepoFile, key: string): number =>
  (file.binary ? Math.ceil(file.content.length / 3) * 4 : file.content.length) + key.length + 8;

/** A ConfigMap key (`[-._a-zA-Z0-9]+`, at most 253): unique by its index, readable by the file's name. */
const keyOf = (index: number, path: string): string =>
  `${index.toString(36)}.${(path.split('/').pop() ?? 'file').replace(/[^-._a-zA-Z0-9]/g, '_')}`.slice(0, 253);

/**
 * Splits a repository's files for delivery without an image: what fits goes into ConfigMaps of at
 * most `maxConfigMapSize` bytes each, in path order; a file too big for any ConfigMap goes into
 * the PVC. Keys are made safe and mapped back to paths.
 */
export const splitIntoBundles = (
  files: readonly RepoFile[],
  maxConfigMapSize: number,
  prefix = 'code',
): { configmaps: Bundle[]; pvc: Bundle } => {
  const budget = Math.max(1, maxConfigMapSize - RESERVE);
  const configmaps: { name: string; files: BundledFile[]; bytes: number }[] = [];
  const large: BundledFile[] = [];
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  sorted.forEach((file, index) => {
    const key = keyOf(index, file.path);
    const cost = costOf(file, key);
    const bundled = { key, path: file.path, bytes: file.content.length, binary: file.binary };
    if (cost > budget) {
      large.push(bundled);
      return;
    }
    let current = configmaps.at(-1);
    if (!current || current.bytes + cost > budget) {
      current = { name: `${prefix}-${configmaps.length}`, files: [], bytes: 0 };
      configmaps.push(current);
    }
    current.files.push(bundled);
    current.bytes += cost;
  });
  return {
    configmaps,
    pvc: { name: `${prefix}-large`, files: large, bytes: large.reduce((sum, file) => sum + file.bytes, 0) },
  };
};
