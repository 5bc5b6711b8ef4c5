import { execa } from 'execa';
import { gitEnvironment } from '../shared/git.js';
import { checkRef } from '../workspaces/names.js';
import type { RepoFile } from '../labs/repo-file.js';

const isBinary = (content: Buffer): boolean =>
  content.subarray(0, 8000).includes(0) || !Buffer.from(content.toString('utf8'), 'utf8').equals(content);

/** Git reading a repository: its git directory named, nothing of the gateway's environment. */
const readGit = { env: gitEnvironment(), extendEnv: false } as const;

/** The commit a ref (or a commit) names in the repository whose git directory is `gitDir`. */
export const resolveCommit = async (gitDir: string, ref: string): Promise<string> => {
  await checkRef(ref);
  return (await execa('git', ['--git-dir', gitDir, 'rev-parse', '--verify', `${ref}^{commit}`], readGit)).stdout.trim();
};

/**
 * The files of a commit, as git itself lists them (`git ls-tree`): tracked files only, so never
 * the `.git` folder or anything ignored. Contents come from one `git cat-file --batch`.
 * Symbolic links and submodules are left out: a ConfigMap holds files.
 */
export const readCommitFiles = async (
  gitDir: string,
  commit: string,
): Promise<{ commit: string; files: RepoFile[] }> => {
  const resolved = await resolveCommit(gitDir, commit);
  const listing = (
    await execa('git', ['--git-dir', gitDir, 'ls-tree', '-r', '-z', resolved], { ...readGit, stripFinalNewline: false })
  ).stdout;
  const entries = listing
    .split('\0')
    .filter((line) => line !== '')
    .map((line) => {
      const tab = line.indexOf('\t');
      const [mode, type, object] = line.slice(0, tab).split(' ') as [string, string, string];
      return { mode, type, object, path: line.slice(tab + 1) };
    })
    .filter((entry) => entry.type === 'blob' && entry.mode !== '120000');
  if (entries.length === 0) return { commit: resolved, files: [] };
  const batch = await execa('git', ['--git-dir', gitDir, 'cat-file', '--batch'], {
    ...readGit,
    input: entries.map((entry) => entry.object).join('\n') + '\n',
    encoding: 'buffer',
    stripFinalNewline: false,
  });
  const output = Buffer.from(batch.stdout);
  const files: RepoFile[] = [];
  let offset = 0;
  for (const entry of entries) {
    const headerEnd = output.indexOf(0x0a, offset);
    const size = Number(output.subarray(offset, headerEnd).toString('utf8').split(' ')[2]);
    const content = output.subarray(headerEnd + 1, headerEnd + 1 + size);
    offset = headerEnd + 1 + size + 1;
    files.push({
      path: entry.path,
      content: Buffer.from(content),
      binary: isBinary(content),
      executable: entry.mode === '100755',
    });
  }
  return { commit: resolved, files };
};
