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
export const replaceFileDurably = (
  path: string,
  content: string | Buffer,
  options: { readonly mode?: number; readonly owner?: { uid: number; gid: number } | undefined } = {},
): Promise<void> => replace(path, content, options.mode ?? 0o644, true, options.owner);

/**
 * The same without the syncs: a reader never sees half a file, but a power cut may leave the old
 * one. For files a person reads that the gateway never relies on (a lab's overlay).
 */
export const replaceFileAtomically = (path: string, content: string | Buffer, mode = 0o644): Promise<void> =>
  replace(path, content, mode, false);

const replace = async (
  path: string,
  content: string | Buffer,
  mode: number,
  durable: boolean,
  /** Given to this user (the agent's, for a file it is meant to edit) before it takes the target's place. */
  owner?: { uid: number; gid: number },
): Promise<void> => {
  const temporary = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, 'wx', mode);
    // FileHandle.writeFile goes on after short writes until every byte is written, or throws.
    await handle.writeFile(content);
    if (owner) await handle.chown(owner.uid, owner.gid);
    if (durable) await handle.datasync();
    await handle.close();
    handle = undefined;
    await rename(temporary, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  if (durable) await syncDirectory(dirname(path));
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
