import test from 'ava';
import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaceFileDurably } from '../../src/files/replace-file.js';
import { BundleStore } from '../../src/labs/bundle-store.js';
import { mountSmallDisk, resizeSmallDisk, SMALL_DISK_SKIP_REASON, smallDisksAvailable } from '../support/small-disk.js';

const tempDir = async (t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'replace-file-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

test('a file is replaced whole, with its mode, and no temporary file is left', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'state.yaml');
  await replaceFileDurably(path, 'first\n');
  await replaceFileDurably(path, 'second\n', { mode: 0o600 });
  t.is(await readFile(path, 'utf8'), 'second\n');
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.deepEqual(await readdir(dir), ['state.yaml']);
});

test('a symlink at the target is replaced, never followed: the file it pointed to is untouched', async (t) => {
  const dir = await tempDir(t);
  const outside = join(dir, 'outside.txt');
  await writeFile(outside, 'keep me\n');
  const inside = join(dir, 'workspace-file');
  await symlink(outside, inside);
  await replaceFileDurably(inside, 'written by the gateway\n');
  t.is(await readFile(outside, 'utf8'), 'keep me\n');
  t.false((await lstat(inside)).isSymbolicLink());
  t.is(await readFile(inside, 'utf8'), 'written by the gateway\n');
});

const onSmallDisk = smallDisksAvailable ? test : test.skip;
if (!smallDisksAvailable) console.log(SMALL_DISK_SKIP_REASON);

onSmallDisk(
  'on a full disk the old content stays whole, no temporary file is left, and the error says ENOSPC',
  async (t) => {
    const dir = mountSmallDisk(t, 256 * 1024);
    const path = join(dir, '.session-state.yaml');
    await replaceFileDurably(path, 'status: active\n');
    const error = await t.throwsAsync(() => replaceFileDurably(path, randomBytes(512 * 1024)));
    t.is((error as NodeJS.ErrnoException).code, 'ENOSPC');
    t.is(await readFile(path, 'utf8'), 'status: active\n');
    t.deepEqual(await readdir(dir), ['.session-state.yaml']);
  },
);

onSmallDisk(
  'a bundle that does not fit is not stored at all (no partial archive under its address), and fits once the disk grows',
  async (t) => {
    const dir = mountSmallDisk(t, 256 * 1024);
    const bundles = new BundleStore(join(dir, 'bundles'));
    // Random bytes do not compress: the archive is larger than the disk.
    const files = [{ path: 'data/big.bin', content: randomBytes(400 * 1024), binary: true, executable: false }];
    await t.throwsAsync(() => bundles.put(files), { code: 'ENOSPC' });
    t.deepEqual(await readdir(join(dir, 'bundles')), [], 'no archive and no staging folder left');
    resizeSmallDisk(dir, 4 * 1024 * 1024);
    const stored = await bundles.put(files);
    t.truthy(bundles.pathOf(stored.sha256));
    t.true(stored.bytes > 400 * 1024);
  },
);
