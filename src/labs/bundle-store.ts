import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { create } from 'tar';
import type { RepoFile } from './repo-file.js';
import { syncDirectory } from '../files/replace-file.js';
import { codeDigest } from './manifests.js';

const SHA256 = /^[0-9a-f]{64}$/;

/** Every archive gets the same mtime, so the tar says nothing about when it was made. */
const MTIME = new Date(0);

/** A path of the commit, relative and without `.`/`..` segments, or a refusal. */
const checkPath = (path: string): string => {
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..'))
    throw new Error(`not a relative file path: ${JSON.stringify(path)}`);
  return path;
};

/**
 * The PVC's files as content-addressed `.tar.gz` archives in one folder. The address is the
 * files' digest (`codeDigest`), not the gzip bytes, so the same files always get the same
 * address and a stored archive is never rewritten.
 */
export class BundleStore {
  constructor(private readonly dir: string) {}

  async put(files: readonly RepoFile[]): Promise<{ sha256: string; bytes: number }> {
    if (files.length === 0) throw new Error('a bundle needs at least one file');
    const sha256 = codeDigest(files);
    const target = join(this.dir, `${sha256}.tar.gz`);
    if (existsSync(target)) return { sha256, bytes: (await stat(target)).size };
    await mkdir(this.dir, { recursive: true });
    // Staged inside the store's folder, so the final rename stays on one file system.
    const staging = await mkdtemp(join(this.dir, '.staging-'));
    try {
      const root = join(staging, 'files');
      const paths = files.map((file) => checkPath(file.path)).sort();
      for (const file of files) {
        const path = join(root, file.path);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, file.content);
        // Set after writing: the mode given to writeFile is cut by the process's umask.
        await chmod(path, file.executable ? 0o755 : 0o644);
      }
      const archive = join(staging, 'bundle.tar.gz');
      // `./` because node-tar reads a name starting with `@` as an archive to append.
      await create(
        { file: archive, cwd: root, gzip: true, portable: true, mtime: MTIME },
        paths.map((path) => `./${path}`),
      );
      const handle = await open(archive, 'r');
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(archive, target);
      // The rename must survive a crash too: a lab's pod spec will name this archive.
      await syncDirectory(this.dir);
      return { sha256, bytes: (await stat(target)).size };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** The stored archive's path; undefined for an unknown or malformed digest. */
  pathOf(sha256: string): string | undefined {
    if (!SHA256.test(sha256)) return undefined;
    const path = join(this.dir, `${sha256}.tar.gz`);
    return existsSync(path) ? path : undefined;
  }
}
