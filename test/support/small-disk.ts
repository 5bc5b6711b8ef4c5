import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

/**
 * A real small file system (tmpfs) that fills up for real: only root can mount one. CI runs as
 * root; elsewhere the tests that need one are skipped, and say so.
 */
const canMount = (): boolean => {
  if (process.getuid?.() !== 0) return false;
  const dir = mkdtempSync(join(tmpdir(), 'small-disk-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export const smallDisksAvailable = canMount();

export const SMALL_DISK_SKIP_REASON =
  'SKIPPED: mounting a small tmpfs needs root (CI runs as root); the fault-injection tests at the file seam cover the same paths without one';

/** Mounts a tmpfs of `bytes` on a new folder until the test ends; returns the folder. */
export const mountSmallDisk = (t: Pick<ExecutionContext, 'teardown'>, bytes: number): string => {
  const dir = mkdtempSync(join(tmpdir(), 'small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
  t.teardown(() => {
    execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
};

/** Gives a mounted small disk a new size, as an operator growing a volume would. */
export const resizeSmallDisk = (dir: string, bytes: number): void => {
  execFileSync('mount', ['-o', `remount,size=${bytes}`, dir]);
};
