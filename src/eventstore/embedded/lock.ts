import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import fsExt from 'fs-ext';
import { EventStoreLockedError } from '../port.js';

export interface FolderLock {
  release(): void;
}

/**
 * An exclusive flock(2) on `<folder>/LOCK`. The kernel drops it when the owning process
 * dies, even by SIGKILL, so a crashed gateway never leaves a stale lock behind; a second
 * process (or a second open in this one: flock locks belong to the open file) is refused.
 */
export const lockFolder = (folder: string): FolderLock => {
  const path = join(folder, 'LOCK');
  const fd = openSync(path, 'a');
  try {
    fsExt.flockSync(fd, 'exnb');
  } catch (error) {
    closeSync(fd);
    const code = (error as NodeJS.ErrnoException).code;
    throw new EventStoreLockedError(
      folder,
      code === 'EAGAIN' || code === 'EWOULDBLOCK' ? `flock on ${path} is held` : String(error),
    );
  }
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      closeSync(fd);
    },
  };
};
