import type { RepoFile } from '../labs/repo-file.js';
import { readCommitFiles, resolveCommit } from './repo-files.js';

/** Files kept at most, counted in bytes of content (the newest stay). */
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * A deployment reads its commit's files when it is planned and at each step (to apply and to
 * test). A commit never changes, so its files are read from git once, shared by the plan and the
 * steps: each read is three git processes, and spawning a process from a gateway of a few
 * hundred MB blocks its event loop for milliseconds each time (5 ms median, measured in
 * `npm run bench -- concurrency`). Bounded by bytes, the least recently used forgotten first.
 */
export class CommitFilesCache {
  private readonly entries = new Map<string, { files: RepoFile[]; bytes: number }>();
  private bytes = 0;

  /** The commit a ref names in the repository of `gitDir` and its files; a full commit hash is looked up without asking git. */
  async read(gitDir: string, ref: string): Promise<{ commit: string; files: RepoFile[] }> {
    const commit = /^[0-9a-f]{40}$/.test(ref) ? ref : await resolveCommit(gitDir, ref);
    const key = `${gitDir}\n${commit}`;
    const cached = this.entries.get(key);
    if (cached) {
      this.entries.delete(key);
      this.entries.set(key, cached);
      return { commit, files: cached.files };
    }
    const { files } = await readCommitFiles(gitDir, commit);
    const bytes = files.reduce((sum, file) => sum + file.content.length, 0);
    if (bytes <= MAX_BYTES) {
      this.entries.set(key, { files, bytes });
      this.bytes += bytes;
      for (const [oldest, entry] of this.entries) {
        if (this.bytes <= MAX_BYTES) break;
        this.entries.delete(oldest);
        this.bytes -= entry.bytes;
      }
    }
    return { commit, files };
  }
}
