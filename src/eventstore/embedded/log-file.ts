import { constants, writevSync } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * What the store needs of its log file. A real file is a `FileHandle`; the fault-injection
 * tests put a file that cuts writes short or fails them here, so the store's handling of a
 * full or failing disk is exercised byte for byte.
 */
export interface LogFile {
  /** May write fewer bytes than asked without an error (a short write), as write(2) may. */
  writev(buffers: readonly Buffer[], position: number): Promise<{ bytesWritten: number }>;
  /**
   * The same write on the calling thread, when the file offers it: it blocks the event loop
   * for the write and its sync, and saves the trip to the thread pool and back.
   */
  writevSync?(buffers: readonly Buffer[], position: number): { bytesWritten: number };
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  truncate(length: number): Promise<void>;
  datasync(): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export type OpenLogFile = (path: string) => Promise<LogFile>;

/**
 * O_DSYNC: each write returns only once its data is durable, as write + fdatasync would, in one
 * trip to the thread pool instead of two; a failed sync is the write's error. No O_APPEND: the
 * store writes at the offset it has acknowledged up to, and cuts anything beyond it.
 */
export const openLogFile: OpenLogFile = async (path) => {
  const handle = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC, 0o644);
  return Object.assign(handle, {
    writevSync: (buffers: readonly Buffer[], position: number) => ({
      bytesWritten: writevSync(handle.fd, buffers, position),
    }),
  });
};

/** A write that made no progress and reported no error; looping on it would never end. */
class NoProgressError extends Error {
  override readonly name = 'NoProgressError';
  constructor(position: number, remaining: number) {
    super(`the log file accepted 0 of ${remaining} bytes at offset ${position}`);
  }
}

/**
 * Writes every byte of `buffers` at `position`, going on after short writes: a write that
 * stops early (a filling disk) either finishes or fails here, never passes as whole.
 */
export const writeFully = async (
  file: LogFile,
  buffers: readonly Buffer[],
  position: number,
  inline = false,
): Promise<void> => {
  let remaining = buffers;
  let at = position;
  while (remaining.length > 0) {
    const { bytesWritten } =
      inline && file.writevSync ? file.writevSync(remaining, at) : await file.writev(remaining, at);
    if (bytesWritten <= 0)
      throw new NoProgressError(
        at,
        remaining.reduce((sum, buffer) => sum + buffer.length, 0),
      );
    at += bytesWritten;
    remaining = skipBytes(remaining, bytesWritten);
  }
};

/** The buffers after their first `count` bytes (views, no copies). */
export const skipBytes = (buffers: readonly Buffer[], count: number): Buffer[] => {
  const rest: Buffer[] = [];
  let skip = count;
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return rest;
};
