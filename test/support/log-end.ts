import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LOG_FILE } from '../../src/eventstore/embedded/index.js';

/**
 * Where the records of a live store's log file end. The file may go on with zeros the store
 * wrote ahead of its end (preallocation); a record never ends with a zero byte (its JSON ends
 * with `]`), so the records end at the last byte that is not zero.
 */
export const logEnd = async (dataDir: string): Promise<number> => {
  const bytes = await readFile(join(dataDir, LOG_FILE));
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return end;
};
