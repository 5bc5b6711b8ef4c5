import { lstat } from 'node:fs/promises';

/** A symbolic link where the gateway writes: planted (by the agent, which can write the workspace), never followed. */
export class PlantedLinkError extends Error {
  override readonly name = 'PlantedLinkError';
}

/**
 * Refuses a folder the gateway is about to write into when it is a symbolic link: a link planted
 * at `<workspace>/.lab` (or at the workspace itself) would have the gateway write files wherever
 * it points. Absent is fine (the gateway makes it). Files themselves are written to a new
 * temporary file (created exclusively, so no planted name is followed) and renamed over the
 * target, which replaces a link instead of following it (`replace-file.ts`).
 */
export const refuseLinkedFolder = async (folder: string): Promise<void> => {
  const stat = await lstat(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (stat?.isSymbolicLink())
    throw new PlantedLinkError(
      `${folder} is a symbolic link, not a folder of the gateway's: nothing is written through it`,
    );
};
