import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { chownr } from 'chownr';
import { makeFolder } from '../files/make-folder.js';

/** The user the agent's shell runs as, when it is not the gateway's own. */
export interface AgentUser {
  readonly uid: number;
  readonly gid: number;
}

/**
 * `opencode.run_as` when the gateway runs its own OpenCode and runs as root: only root can start
 * a process as someone else, and only then is there a someone else to keep out.
 */
export const agentUserOf = (
  opencode: { readonly enabled: boolean; readonly url: string; readonly run_as: string },
  euid: number | undefined = process.geteuid?.(),
): AgentUser | undefined => {
  if (!opencode.enabled || opencode.url !== '' || opencode.run_as === '' || euid !== 0) return undefined;
  const [uid, gid] = opencode.run_as.split(':').map(Number);
  return { uid: uid!, gid: gid! };
};

/**
 * Gives a folder the gateway made to the agent's user, everything in it first and the folder
 * itself last (chownr walks depth first and never follows a link). Safe only on a folder the
 * agent could not write into before this: nothing in it can have been swapped for a link while
 * the walk runs.
 */
export const handOver = (folder: string, user: AgentUser): Promise<void> =>
  promisify(chownr)(folder, user.uid, user.gid);

/** Whether the agent's user owns `path` already (then it is the agent's to change, and never walked again). */
export const ownedBy = async (path: string, user: AgentUser): Promise<boolean> => {
  const stat = await lstat(path).catch(() => undefined);
  return stat !== undefined && stat.uid === user.uid;
};

/**
 * Keeps the agent's user out of the data folder: every entry is the gateway's alone (0700 folders,
 * 0600 files), and the folder itself 0700, or 0711 when the agent's folders lie inside it (it may
 * pass through to them, but list nothing and open nothing else). Folders the gateway makes
 * later inside a 0700 one inherit nothing, but cannot be reached.
 */
const keepDataFolderPrivate = async (dataDir: string, agentFolders: readonly string[]): Promise<void> => {
  await makeFolder(dataDir, 0o700);
  const inside = agentFolders
    .map((folder) => relative(dataDir, folder))
    .filter((path) => path !== '' && !path.startsWith('..') && !path.startsWith(sep));
  const passages = new Set(inside.map((path) => path.split(sep)[0]!));
  await chmod(dataDir, passages.size > 0 ? 0o711 : 0o700);
  for (const entry of await readdir(dataDir, { withFileTypes: true })) {
    if (passages.has(entry.name) || entry.isSymbolicLink()) continue;
    await chmod(join(dataDir, entry.name), entry.isDirectory() ? 0o700 : 0o600);
  }
};

/**
 * The first folder on `path` (`path` itself included, when it is a folder) the agent's user
 * cannot pass through (no search permission for it), or undefined when it can reach `path`.
 */
export const unreachableFolderOn = async (path: string, user: AgentUser): Promise<string | undefined> => {
  const parts = path.split(sep).filter((part) => part !== '');
  for (let depth = 0; depth <= parts.length; depth++) {
    const folder = sep + parts.slice(0, depth).join(sep);
    const stat = await lstat(folder).catch(() => undefined);
    if (stat === undefined || !stat.isDirectory()) continue;
    const bit = stat.uid === user.uid ? 0o100 : stat.gid === user.gid ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) return folder;
  }
  return undefined;
};

/** Said at start, instead of a program that fails later: the folder in the way of the agent's user. */
export const requireReachable = async (path: string, user: AgentUser): Promise<void> => {
  const blocked = await unreachableFolderOn(path, user);
  if (blocked !== undefined)
    throw new Error(
      `the agent runs as uid ${user.uid} (opencode.run_as), which cannot pass through ${blocked} to reach ${path}: make it searchable by others (chmod o+x) or choose other folders`,
    );
};

/**
 * What the agent's user may not reach, made so before anything runs: the data folder (the event
 * log, the idempotency records, bundles and artifacts) and the clones (their configuration and
 * hooks are the gateway's; the agent edits its worktrees and the gateway commits for it). The
 * folders it works in must be reachable, or the start stops here saying which folder is in the way.
 */
export const keepGatewayStateFromAgent = async (
  user: AgentUser,
  places: {
    readonly dataDir: string;
    readonly privateFolders: readonly string[];
    readonly agentFolders: readonly string[];
  },
): Promise<void> => {
  await keepDataFolderPrivate(places.dataDir, places.agentFolders);
  for (const folder of places.privateFolders) {
    await makeFolder(folder, 0o700);
    await chmod(folder, 0o700);
  }
  for (const folder of places.agentFolders) {
    await mkdir(folder, { recursive: true });
    await requireReachable(folder, user);
  }
};
