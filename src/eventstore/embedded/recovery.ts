import { rm } from 'node:fs/promises';
import { checkFrame } from './frame.js';
import { writeFully, type LogFile, type OpenLogFile } from './log-file.js';

/** Recovery found acknowledged records gone or changed: no retry can bring them back. */
export class AcknowledgedRecordsLostError extends Error {
  override readonly name = 'AcknowledgedRecordsLostError';
}

/** Where the acknowledged records end, and where the last of them starts (none: -1). */
export interface AcknowledgedEnd {
  readonly size: number;
  readonly lastOffset: number;
  readonly lastLength: number;
}

/**
 * Opens the log again on a new descriptor (an old one may keep a failed sync's error) and makes
 * it end exactly after the last acknowledged record: whatever a failed write left after it is
 * cut. A file shorter than that, or whose last acknowledged record no longer checks, has lost
 * acknowledged history: AcknowledgedRecordsLostError. Any other error: try again later.
 */
export const restoreLog = async (
  openFile: OpenLogFile,
  path: string,
  acknowledged: AcknowledgedEnd,
): Promise<LogFile> => {
  const file = await openFile(path);
  try {
    const { size } = await file.stat();
    if (size < acknowledged.size)
      throw new AcknowledgedRecordsLostError(
        `the log holds ${size} bytes, but its acknowledged records end at byte ${acknowledged.size}`,
      );
    if (acknowledged.lastOffset >= 0) {
      const buffer = Buffer.allocUnsafe(acknowledged.lastLength);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, acknowledged.lastOffset);
      const frame = checkFrame(buffer.subarray(0, bytesRead), 0);
      if (!frame.ok || frame.length !== acknowledged.lastLength) {
        throw new AcknowledgedRecordsLostError(
          `the last acknowledged record, at byte ${acknowledged.lastOffset}, no longer checks: ${frame.ok ? 'its length changed' : frame.reason}`,
        );
      }
    }
    if (size > acknowledged.size) {
      await file.truncate(acknowledged.size);
      await file.datasync();
    }
    return file;
  } catch (error) {
    await file.close().catch(() => undefined);
    throw error;
  }
};

/**
 * Whether the file system takes a write of `bytes` again: writes them durably to a probe file
 * beside the log and removes it. What a full disk that got space back answers with.
 */
export const probeWritable = async (openFile: OpenLogFile, path: string, bytes: number): Promise<boolean> => {
  try {
    const file = await openFile(path);
    try {
      await writeFully(file, [Buffer.alloc(bytes)], 0);
    } finally {
      await file.close().catch(() => undefined);
    }
    return true;
  } catch {
    return false;
  } finally {
    await rm(path, { force: true }).catch(() => undefined);
  }
};
