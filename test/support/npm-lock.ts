import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** package.json and the lock file npm itself writes for it (from the registry): a Node repository as it is committed. */
export const withLockFile = (packageJson: object): { 'package.json': string; 'package-lock.json': string } => {
  const folder = mkdtempSync(join(tmpdir(), 'npm-lock-'));
  try {
    const text = JSON.stringify(packageJson, null, 2);
    writeFileSync(join(folder, 'package.json'), text);
    execFileSync('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: folder, stdio: 'pipe' });
    return { 'package.json': text, 'package-lock.json': readFileSync(join(folder, 'package-lock.json'), 'utf8') };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
};
