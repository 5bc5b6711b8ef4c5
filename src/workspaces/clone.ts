import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { gitEnvironment } from '../shared/git.js';
import { baseEnvironment, runBounded } from '../shared/run-bounded.js';
import {
  credentialConfig,
  loadGitCredentials,
  type GitCredential,
  type GitCredentialConfig,
} from './git-credentials.js';
import { withoutUrlCredentials } from '../shared/url-credentials.js';
import { DEFAULT_URL_PATTERNS, type CheckedRepoUrl, type RepoUrlPolicy } from '../shared/repo-url-policy.js';

/** How repositories given by URL are fetched: the URL policy's settings, the time allowed, and the configured credentials. */
export interface CloneSettings {
  readonly allowedPatterns: readonly string[];
  readonly allowPrivateAddresses: boolean;
  /** A total deadline for one clone, however slowly the server sends. */
  readonly timeoutMs: number;
  readonly credentials: readonly GitCredential[];
}

/** What the shipped configuration says, for callers that pass none. */
export const DEFAULT_CLONE_SETTINGS: CloneSettings = {
  allowedPatterns: DEFAULT_URL_PATTERNS,
  allowPrivateAddresses: false,
  timeoutMs: 300_000,
  credentials: [],
};

/** The URL policy a clone, a fetch and a push are held to: the same for all three. */
export const repoUrlPolicy = (reposRoot: string, settings: CloneSettings): RepoUrlPolicy => ({
  reposRoot,
  allowedPatterns: settings.allowedPatterns,
  allowPrivateAddresses: settings.allowPrivateAddresses,
});

/** A clone that failed or ran out of time; `output` is the tail of what git said. */
export class CloneFailedError extends Error {
  override readonly name = 'CloneFailedError';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

/** A fetch of an existing clone that failed or ran out of time; `output` is the tail of what git said. */
export class FetchFailedError extends Error {
  override readonly name = 'FetchFailedError';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

/** Every transport git knows by name; only the one this URL needs is switched on. */
const TRANSPORTS = ['ext', 'fd', 'file', 'git', 'http', 'https', 'ssh'] as const;
const DEFAULT_PORTS = { https: 443, http: 80 } as const;
/** What a clone may need of the gateway's environment besides PATH, HOME and LANG: the ssh agent, CA certificates, a proxy. Nothing of the gateway's secrets. */
const PASSED_THROUGH = [
  'SSH_AUTH_SOCK',
  'GIT_SSH_COMMAND',
  'GIT_SSL_CAINFO',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTPS_PROXY',
  'https_proxy',
  'NO_PROXY',
  'no_proxy',
];

/**
 * The configuration every git that talks to the remote gets on its command line: only this URL's
 * transport allowed (also against a user's or system git configuration), no redirects (the next
 * host would be unchecked), and for http(s) the host pinned to the addresses the policy checked,
 * so git's own DNS lookup cannot lead elsewhere.
 */
const remoteConfig = (checked: CheckedRepoUrl, addresses: readonly string[]): string[] => {
  const protocols = TRANSPORTS.flatMap((transport) => [
    '-c',
    `protocol.${transport}.allow=${transport === checked.transport ? 'always' : 'never'}`,
  ]);
  const pinned =
    (checked.transport === 'https' || checked.transport === 'http') && addresses.length > 0
      ? [
          '-c',
          `http.curloptResolve=${checked.host}:${checked.port ?? DEFAULT_PORTS[checked.transport]}:${addresses.map((address) => (isIPv6(address) ? `[${address}]` : address)).join(',')}`,
        ]
      : [];
  return ['-c', 'protocol.allow=never', ...protocols, '-c', 'http.followRedirects=false', ...pinned];
};

/** The git command line of a clone. `--` ends the options: a url can never be read as one. */
export const cloneArguments = (checked: CheckedRepoUrl, addresses: readonly string[], target: string): string[] => [
  ...remoteConfig(checked, addresses),
  'clone',
  '--no-hardlinks',
  '--',
  checked.source,
  target,
];

/**
 * The git command line that brings the clone in `gitDir` up to date: the remote's branches into
 * `refs/remotes/origin/*` (never the clone's own branches: the builder branches live there) and
 * its tags, each forced to where the remote has it, and what the remote deleted deleted
 * (`--prune`). From the checked URL, not the clone's configured remote. No automatic maintenance:
 * nothing of git's may go on in the background, holding the clone's locks, once git is stopped.
 */
const fetchArguments = (checked: CheckedRepoUrl, addresses: readonly string[], gitDir: string): string[] => [
  '--git-dir',
  gitDir,
  ...remoteConfig(checked, addresses),
  'fetch',
  '--prune',
  '--no-auto-maintenance',
  '--',
  checked.source,
  '+refs/heads/*:refs/remotes/origin/*',
  '+refs/tags/*:refs/tags/*',
];

/**
 * The environment of a git that talks to the remote: the hardened one, the little of the
 * gateway's a transport may need, and for http(s) the configured credentials of this host (only
 * ever in the environment, never on a command line).
 */
const remoteEnvironment = (checked: CheckedRepoUrl, settings: CloneSettings): Record<string, string> => {
  const transport = checked.transport;
  const hostPort = `${checked.host ?? ''}${checked.port === null ? '' : `:${checked.port}`}`;
  // Credentials are for http(s) only, by host as configured (`host` or `host:port`).
  const credentials =
    transport === 'https' || transport === 'http'
      ? credentialConfig(
          settings.credentials.find(
            (entry) => entry.host === hostPort || entry.host === `${checked.host}:${DEFAULT_PORTS[transport]}`,
          ),
          transport,
          hostPort,
        )
      : [];
  return gitEnvironment({
    env: {
      ...baseEnvironment(homedir()),
      ...Object.fromEntries(PASSED_THROUGH.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : []))),
      // GIT_ALLOW_PROTOCOL overrides any configuration's protocol.*.allow.
      GIT_ALLOW_PROTOCOL: transport,
    },
    config: credentials,
  });
};

/**
 * Runs a git that talks to the remote in its own process group, stopped with everything it
 * started at `timeoutMs`; what went wrong, in words for a person and git's last lines, or
 * undefined when it worked. `doing` is what the words call it: `cloning`, `fetching`.
 */
const runRemoteGit = async (
  args: readonly string[],
  checked: CheckedRepoUrl,
  settings: CloneSettings,
  options: { readonly cwd: string; readonly doing: string },
): Promise<{ message: string; tail: string } | undefined> => {
  const run = await runBounded('git', args, {
    cwd: options.cwd,
    env: remoteEnvironment(checked, settings),
    timeoutMs: settings.timeoutMs,
  });
  const tail = withoutUrlCredentials(run.output.trim().split('\n').slice(-10).join('\n'));
  if (run.timedOut)
    return {
      message: `${options.doing} ${checked.url} took longer than workspace.clone_timeout (${settings.timeoutMs / 1000} s): git was stopped`,
      tail,
    };
  if (run.notFound) return { message: 'git is not installed', tail: '' };
  if (run.exitCode === 0) return undefined;
  const last =
    tail
      .split('\n')
      .filter((line) => line.trim() !== '')
      .pop() ?? `exit ${run.exitCode ?? run.signal}`;
  return { message: `${options.doing} ${checked.url} failed: ${last}`, tail };
};

/**
 * Clones `checked` into `target` in its own process group, stopped with everything it started
 * at `timeoutMs`. Credentials reach git only through its environment.
 */
export const cloneRepository = async (
  checked: CheckedRepoUrl,
  addresses: readonly string[],
  target: string,
  settings: CloneSettings,
  cwd: string,
): Promise<void> => {
  const failed = await runRemoteGit(cloneArguments(checked, addresses, target), checked, settings, {
    cwd,
    doing: 'cloning',
  });
  if (failed) throw new CloneFailedError(failed.message, failed.tail);
};

/**
 * Fetches the remote into the clone whose git directory is `gitDir`, as a clone is made: the
 * same checks, credentials and `timeoutMs`.
 */
export const fetchRepository = async (
  checked: CheckedRepoUrl,
  addresses: readonly string[],
  gitDir: string,
  settings: CloneSettings,
): Promise<void> => {
  const failed = await runRemoteGit(fetchArguments(checked, addresses, gitDir), checked, settings, {
    cwd: gitDir,
    doing: 'fetching',
  });
  if (failed) throw new FetchFailedError(failed.message, failed.tail);
};

/** A push the remote refused (e.g. not a fast-forward, a hook of the remote's) or that could not reach it; `output` is the tail of what git said. */
class PushFailedError extends Error {
  override readonly name = 'PushFailedError';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

/**
 * The git command line that sets the remote's `branch` to `commit`, from the clone whose git
 * directory is `gitDir`: to the checked URL, never forced (a remote branch someone else moved is
 * refused as not a fast-forward, not overwritten), no hook of the clone's run.
 */
const pushArguments = (
  checked: CheckedRepoUrl,
  addresses: readonly string[],
  target: { readonly gitDir: string; readonly commit: string; readonly branch: string },
): string[] => [
  '--git-dir',
  target.gitDir,
  ...remoteConfig(checked, addresses),
  'push',
  '--no-verify',
  '--',
  checked.source,
  `${target.commit}:refs/heads/${target.branch}`,
];

/**
 * What a person is told of a failed push: git's line saying what the remote refused and why
 * (`! [rejected] … (non-fast-forward)`, `! [remote rejected] … (pre-receive hook declined)`), or
 * its first fatal line (no such repository), rather than the hints that follow them.
 */
const pushFailureLine = (tail: string): string | undefined => {
  const lines = tail.split('\n').map((line) => line.trim());
  return (
    lines.find((line) => /^! \[(remote )?rejected\]/.test(line)) ?? lines.find((line) => line.startsWith('fatal:'))
  );
};

/** Pushes `commit` to the remote's `branch` as a clone is fetched: the same checks, credentials and timeout. */
export const pushRepository = async (
  checked: CheckedRepoUrl,
  addresses: readonly string[],
  target: { readonly gitDir: string; readonly commit: string; readonly branch: string },
  settings: CloneSettings,
): Promise<void> => {
  const failed = await runRemoteGit(pushArguments(checked, addresses, target), checked, settings, {
    cwd: target.gitDir,
    doing: 'pushing to',
  });
  if (!failed) return;
  const line = pushFailureLine(failed.tail);
  const message = line === undefined ? failed.message : `pushing to ${checked.url} failed: ${line}`;
  throw new PushFailedError(message, failed.tail);
};

/** The clone settings of `workspace.*`, the credentials' passwords read from `env` now (start-up) and kept in memory only. */
export const cloneSettingsFrom = (
  workspace: {
    readonly allowed_url_patterns: readonly string[];
    readonly allow_private_addresses: boolean;
    readonly clone_timeout: number;
    readonly git_credentials: readonly GitCredentialConfig[];
  },
  env: NodeJS.ProcessEnv,
): CloneSettings => ({
  allowedPatterns: workspace.allowed_url_patterns,
  allowPrivateAddresses: workspace.allow_private_addresses,
  timeoutMs: workspace.clone_timeout * 1000,
  credentials: loadGitCredentials(workspace.git_credentials, env),
});
