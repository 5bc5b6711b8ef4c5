import { statfs } from 'node:fs/promises';

/** Bytes an unprivileged process may still write on the file system holding `dir`. */
const freeBytesOf = async (dir: string): Promise<number> => {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
};

/**
 * The room kept on the log's file system for work already under way. Below `minFreeBytes` new
 * work (sessions, deployments) waits, so that a deployment or an agent turn that has started can
 * still record how it ended; the log itself never refuses an append for the reserve.
 */
export class DiskReserve {
  constructor(
    readonly dir: string,
    readonly minFreeBytes: number,
    private readonly measure: (dir: string) => Promise<number> = freeBytesOf,
  ) {}

  freeBytes(): Promise<number> {
    return this.measure(this.dir);
  }

  /** Why new work must wait, or undefined when there is room. */
  async shortfall(): Promise<string | undefined> {
    const free = await this.freeBytes();
    if (free >= this.minFreeBytes) return undefined;
    return `${formatBytes(free)} free on the event log's file system, below the reserve of ${formatBytes(this.minFreeBytes)} (event_store.min_free_bytes)`;
  }
}

const formatBytes = (bytes: number): string => {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
};
