import { basename } from 'node:path';
import { WRITE_PROBE_FILE } from '../../src/eventstore/embedded/index.js';
import { openLogFile, skipBytes, type LogFile, type OpenLogFile } from '../../src/eventstore/embedded/log-file.js';

/**
 * What the next write to a file does instead of succeeding:
 * - `short`: only the first `bytes` bytes land, and the write reports that count with no error
 *   (what write(2) and libuv do when a disk fills in the middle of a write);
 * - `error`: the first `afterBytes` bytes land, then the write fails with `code`;
 * - `sync`: every byte lands, then the sync that O_DSYNC makes part of the write fails with
 *   `code`: the data is in the file, possibly on disk, but the write reports an error.
 */
export type WriteFault =
  | { readonly kind: 'short'; readonly bytes: number }
  | { readonly kind: 'error'; readonly code: 'ENOSPC' | 'EIO'; readonly afterBytes: number }
  | { readonly kind: 'sync'; readonly code: 'ENOSPC' | 'EIO' };

export type FileOperation = 'open' | 'truncate' | 'datasync' | 'stat' | 'read';

export const errnoError = (code: 'ENOSPC' | 'EIO' | 'EMFILE', syscall: string): NodeJS.ErrnoException => {
  const messages = { ENOSPC: 'no space left on device', EIO: 'i/o error', EMFILE: 'too many open files' };
  const numbers = { ENOSPC: -28, EIO: -5, EMFILE: -24 };
  return Object.assign(new Error(`${code}: ${messages[code]}, ${syscall}`), { code, errno: numbers[code], syscall });
};

/**
 * The faults the files opened through `opener` suffer: one-shot faults queued for the next
 * writes or operations, a random fault per write, and a disk with a given number of free bytes
 * (writes past it are cut short, then fail with ENOSPC; truncating frees space). Every byte a
 * write reports, or fails after, really lands in the real file underneath.
 */
export class FaultPlan {
  /** Free bytes on the simulated disk; undefined: unlimited. */
  freeBytes: number | undefined;
  /** Asked before every write that has no queued fault. */
  random: ((bytes: number) => WriteFault | undefined) | undefined;
  private readonly writeFaults: WriteFault[] = [];
  private readonly operationFaults = new Map<FileOperation, ('EIO' | 'EMFILE')[]>();
  /** Faults that happened, for test messages. */
  readonly happened: string[] = [];
  /** Writes asked of the files, on the caller's thread (`inline`) or through the thread pool. */
  readonly writes = { inline: 0, pool: 0 };
  /** How long each inline write blocks its caller before it lands (a slow disk). */
  stallInlineWritesMs = 0;

  failNextWrite(...faults: WriteFault[]): void {
    this.writeFaults.push(...faults);
  }

  failNext(operation: FileOperation, code: 'EIO' | 'EMFILE', times = 1): void {
    const queue = this.operationFaults.get(operation) ?? [];
    for (let i = 0; i < times; i++) queue.push(code);
    this.operationFaults.set(operation, queue);
  }

  clear(): void {
    this.writeFaults.length = 0;
    this.operationFaults.clear();
    this.random = undefined;
    this.freeBytes = undefined;
    this.stallInlineWritesMs = 0;
  }

  get pendingWriteFaults(): number {
    return this.writeFaults.length;
  }

  /** Throws the queued fault of `operation`, if any. */
  check(operation: FileOperation): void {
    const code = this.operationFaults.get(operation)?.shift();
    if (!code) return;
    this.happened.push(`${operation} ${code}`);
    throw errnoError(code, operation);
  }

  nextWriteFault(bytes: number): WriteFault | undefined {
    const fault = this.writeFaults.shift() ?? this.random?.(bytes);
    if (fault) this.happened.push(JSON.stringify(fault));
    return fault;
  }

  /** Files opened through this opener suffer the plan's faults. */
  readonly opener: OpenLogFile = async (path) => {
    this.check('open');
    const file = await openLogFile(path);
    return new FaultyLogFile(file, this, (await file.stat()).size, basename(path) === WRITE_PROBE_FILE);
  };
}

class FaultyLogFile implements LogFile {
  constructor(
    private readonly file: LogFile,
    private readonly plan: FaultPlan,
    private size: number,
    /** The store removes its write probe right after closing it: the space comes back then. */
    private readonly removedOnClose: boolean,
  ) {}

  async writev(buffers: readonly Buffer[], position: number): Promise<{ bytesWritten: number }> {
    this.plan.writes.pool++;
    const { bytes, report } = this.outcome(buffers, position);
    const taken = takeBytes(buffers, bytes);
    let written = 0;
    while (written < bytes)
      written += (await this.file.writev(skipBytes(taken, written), position + written)).bytesWritten;
    this.grew(position + bytes);
    return report();
  }

  writevSync(buffers: readonly Buffer[], position: number): { bytesWritten: number } {
    this.plan.writes.inline++;
    // A disk that takes this long to sync: the calling thread waits, as it would in the kernel.
    const until = performance.now() + this.plan.stallInlineWritesMs;
    while (performance.now() < until);
    const { bytes, report } = this.outcome(buffers, position);
    const taken = takeBytes(buffers, bytes);
    let written = 0;
    while (written < bytes)
      written += this.file.writevSync!(skipBytes(taken, written), position + written).bytesWritten;
    this.grew(position + bytes);
    return report();
  }

  /** What the plan makes of a write: how many of its bytes really land, then what it reports. */
  private outcome(
    buffers: readonly Buffer[],
    position: number,
  ): { bytes: number; report: () => { bytesWritten: number } } {
    const asked = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    const fault = this.plan.nextWriteFault(asked) ?? this.diskLimit(asked, position);
    if (!fault) return { bytes: asked, report: () => ({ bytesWritten: asked }) };
    const fails = (code: 'ENOSPC' | 'EIO') => () => {
      throw errnoError(code, 'write');
    };
    switch (fault.kind) {
      case 'short': {
        const bytes = Math.min(fault.bytes, asked);
        return { bytes, report: () => ({ bytesWritten: bytes }) };
      }
      case 'error':
        return { bytes: Math.min(fault.afterBytes, asked), report: fails(fault.code) };
      case 'sync':
        return { bytes: asked, report: fails(fault.code) };
      default: {
        const unknown: never = fault;
        throw new Error(`unknown fault ${JSON.stringify(unknown)}`);
      }
    }
  }

  /** The simulated disk's space follows the file's growth. */
  private grew(end: number): void {
    if (end <= this.size) return;
    if (this.plan.freeBytes !== undefined) this.plan.freeBytes -= end - this.size;
    this.size = end;
  }

  /** A full disk: what fits is written and reported; a write where nothing fits fails. */
  private diskLimit(asked: number, position: number): WriteFault | undefined {
    const free = this.plan.freeBytes;
    if (free === undefined) return undefined;
    const growth = Math.max(0, position + asked - this.size);
    if (growth <= free) return undefined;
    const fits = asked - (growth - free);
    return fits > 0 ? { kind: 'short', bytes: fits } : { kind: 'error', code: 'ENOSPC', afterBytes: 0 };
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    this.plan.check('read');
    return this.file.read(buffer, offset, length, position);
  }

  async truncate(length: number): Promise<void> {
    this.plan.check('truncate');
    await this.file.truncate(length);
    if (length < this.size && this.plan.freeBytes !== undefined) this.plan.freeBytes += this.size - length;
    this.size = length;
  }

  async datasync(): Promise<void> {
    this.plan.check('datasync');
    await this.file.datasync();
  }

  async stat(): Promise<{ size: number }> {
    this.plan.check('stat');
    return this.file.stat();
  }

  close(): Promise<void> {
    if (this.removedOnClose && this.plan.freeBytes !== undefined) this.plan.freeBytes += this.size;
    return this.file.close();
  }
}

/** The first `count` bytes of the buffers (views, no copies). */
const takeBytes = (buffers: readonly Buffer[], count: number): Buffer[] => {
  const taken: Buffer[] = [];
  let left = count;
  for (const buffer of buffers) {
    if (left <= 0) break;
    taken.push(buffer.length <= left ? buffer : buffer.subarray(0, left));
    left -= Math.min(left, buffer.length);
  }
  return taken;
};
