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
import { DEFAULT_URL_PATTERNS, type CheckedRepoUrl } from '../shared/repo-url-policy.js';

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
 * The git command line of a clone: only this URL's transport allowed (also against a user's or
 * system git configuration), no redirects (the next host would be unchecked), and for http(s)
 * the host pinned to the addresses the policy checked, so git's own DNS lookup cannot lead
 * elsewhere.
 */
export const cloneArguments = (checked: CheckedRepoUrl, addresses: readonly string[], target: string): string[] => {
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
  // `--` ends the options: a url can never be read as one.
  return [
    '-c',
    'protocol.allow=never',
    ...protocols,
    '-c',
    'http.followRedirects=false',
    ...pinned,
    'clone',
    '--no-hardlinks',
    '--',
    checked.source,
    target,
  ];
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
  const env = gitEnvironment({
    env: {
      ...baseEnvironment(homedir()),
      ...Object.fromEntries(PASSED_THROUGH.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : []))),
      // GIT_ALLOW_PROTOCOL overrides any configuration's protocol.*.allow.
      GIT_ALLOW_PROTOCOL: transport,
    },
    config: credentials,
  });
  const run = await runBounded('git', cloneArguments(checked, addresses, target), {
    cwd,
    env,
    timeoutMs: settings.timeoutMs,
  });
  const tail = withoutUrlCredentials(run.output.trim().split('\n').slice(-10).join('\n'));
  if (run.timedOut) {
    throw new CloneFailedError(
      `cloning ${checked.url} took longer than workspace.clone_timeout (${settings.timeoutMs / 1000} s): git was stopped`,
      tail,
    );
  }
  if (run.notFound) throw new CloneFailedError('git is not installed', '');
  if (run.exitCode !== 0) {
    const last =
      tail
        .split('\n')
        .filter((line) => line.trim() !== '')
        .pop() ?? `exit ${run.exitCode ?? run.signal}`;
    throw new CloneFailedError(`cloning ${checked.url} failed: ${last}`, tail);
  }
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
