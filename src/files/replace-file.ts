import { randomUUID } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `path` with `content` so that a reader, and the file after a crash, holds the old
 * content or the whole new one, never a part: written to a new temporary file beside it (created
 * exclusively, so nothing planted at that name is followed), every byte written and synced,
 * renamed over the target, and the folder synced so that the rename survives a crash too. A
 * failure (a full disk) leaves the old file as it was and no temporary file behind.
 */
export const replaceFileDurably = async (path: string, content: string | Buffer, mode = 0o644): Promise<void> => {
  const temporary = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, 'wx', mode);
    // FileHandle.writeFile goes on after short writes until every byte is written, or throws.
    await handle.writeFile(content);
    await handle.datasync();
    await handle.close();
    handle = undefined;
    await rename(temporary, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
};

/** Makes the folder's entries (a rename into it) durable. */
export const syncDirectory = async (dir: string): Promise<void> => {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};
