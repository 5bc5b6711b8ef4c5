import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Makes `folder` with `mode` (under the umask) if it is missing, and the folders above it as
 * `mkdir -p` would. Unlike `mkdir(folder, { recursive: true, mode })`, which gives every folder
 * it makes that mode, a private folder does not make its parents private too (a workspace made
 * 0700 must not close the way to its neighbours).
 */
export const makeFolder = async (folder: string, mode: number): Promise<void> => {
  await mkdir(dirname(folder), { recursive: true });
  await mkdir(folder, { mode }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
};
