import * as E from 'fp-ts/lib/Either.js';
import { promises as dns } from 'node:dns';
import { realpath, stat } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { privateAddressKind } from './private-addresses.js';
import { parseRepoUrl, pathSegments, RepoUrlRefusedError } from './repo-url.js';

/** The default of `workspace.allowed_url_patterns`: https, ssh and scp-like `git@host:path`. */
export const DEFAULT_URL_PATTERNS: readonly string[] = ['https://', 'ssh://', 'git@'];

/** Clones of repositories given by URL live under `<repos_root>/_clones/`, apart from the pre-provisioned `<repos_root>/<name>` (a name never has `_`). */
export const CLONES_FOLDER = '_clones';
/** The first part of a local repository's identity (`_` is never in a host name, so never a host's). */
const LOCAL = '_local';

export type Lookup = (host: string) => Promise<readonly { readonly address: string; readonly family: number }[]>;

export interface RepoUrlPolicy {
  /** Local repositories (`file://`, absolute paths) only from folders under it. */
  readonly reposRoot: string;
  /** A remote URL, without credentials, must start with one of them (case-insensitive). */
  readonly allowedPatterns: readonly string[];
  /** Off: no loopback, private, link-local, CGNAT, ULA, multicast or unspecified address, written or resolved. */
  readonly allowPrivateAddresses: boolean;
  readonly lookup?: Lookup;
  readonly dnsTimeoutMs?: number;
}

/** A repository URL the policy allows, in the form git gets it. */
export interface CheckedRepoUrl {
  /** What events keep and views show: credentials removed. */
  readonly url: string;
  /** What git clones: the URL, or the local folder's real path. */
  readonly source: string;
  readonly transport: 'https' | 'http' | 'ssh' | 'file';
  /** Null for a local folder. */
  readonly host: string | null;
  readonly port: number | null;
  /** The clone folder under `<repos_root>/_clones/`, one part per entry. */
  readonly identity: readonly string[];
}

const DEFAULT_LOOKUP: Lookup = (host) => dns.lookup(host, { all: true, verbatim: true });

/** `path` relative to `root` when it lies strictly inside it. */
const insideOf = (root: string, path: string): string | undefined => {
  const inside = relative(root, path);
  return inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside) ? undefined : inside;
};

const refuse = (reason: string): never => {
  throw new RepoUrlRefusedError(reason);
};

const PRIVATE_SETTING = 'workspace.allow_private_addresses is off';

/**
 * Everything that can be told without DNS: the form (parseRepoUrl), the allowed patterns, an IP
 * written in the URL, and for a local folder that it exists under the repos root (after
 * symlinks), outside the gateway's own clones.
 */
export const checkRepoUrlForm = async (raw: string, policy: RepoUrlPolicy): Promise<CheckedRepoUrl> => {
  const parsed = parseRepoUrl(raw);
  if (parsed.kind === 'local') {
    const root = await realpath(policy.reposRoot).catch(() =>
      refuse('local repositories must be under workspace.repos_root, which does not exist'),
    );
    const notUnder = `${parsed.path} is not under workspace.repos_root: local repositories are only cloned from there`;
    // Checked as written first, so nothing is told about folders elsewhere (not even whether they exist), then after symlinks.
    if (insideOf(resolve(policy.reposRoot), parsed.path) === undefined && insideOf(root, parsed.path) === undefined)
      refuse(notUnder);
    const path = await realpath(parsed.path).catch(() => refuse(`${parsed.path} does not exist`));
    const inside = insideOf(root, path) ?? refuse(notUnder);
    if (inside.split(sep)[0] === CLONES_FOLDER) refuse(`${parsed.path} is one of the gateway's own clones`);
    if (!(await stat(path)).isDirectory()) refuse(`${parsed.path} is not a folder`);
    const identity = [LOCAL, ...pathSegments(inside.split(sep).join('/'), { what: 'the folder', keepDotGit: true })];
    return { url: parsed.url, source: path, transport: 'file', host: null, port: null, identity };
  }
  const allowed = policy.allowedPatterns.some((pattern) => parsed.url.toLowerCase().startsWith(pattern.toLowerCase()));
  if (!allowed)
    refuse(`not allowed by workspace.allowed_url_patterns (${policy.allowedPatterns.join(', ') || 'none'})`);
  const kind = policy.allowPrivateAddresses ? undefined : privateAddressKind(parsed.host);
  if (kind !== undefined) refuse(`${parsed.host} is ${kind} (${PRIVATE_SETTING})`);
  return {
    url: parsed.url,
    source: parsed.url,
    transport: parsed.transport,
    host: parsed.host,
    port: parsed.port,
    identity: parsed.identity,
  };
};

/**
 * The addresses the URL's host name resolves to, every one of them allowed; [] for an IP written
 * in the URL or a local folder. A name that does not resolve (in `dnsTimeoutMs`) is refused: the
 * gateway cannot tell where it leads.
 */
export const resolveRepoUrlHost = async (
  checked: CheckedRepoUrl,
  policy: RepoUrlPolicy,
): Promise<readonly string[]> => {
  const host = checked.host;
  if (host === null || isIPv4(host) || host.startsWith('[')) return [];
  const timeoutMs = policy.dnsTimeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RepoUrlRefusedError(`the host ${host} did not resolve within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
  });
  let addresses: readonly { readonly address: string }[];
  try {
    addresses = await Promise.race([(policy.lookup ?? DEFAULT_LOOKUP)(host), timeout]);
  } catch (error) {
    if (error instanceof RepoUrlRefusedError) throw error;
    return refuse(`the host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'no answer'})`);
  } finally {
    clearTimeout(timer);
  }
  if (addresses.length === 0) refuse(`the host ${host} does not resolve`);
  if (!policy.allowPrivateAddresses) {
    for (const { address } of addresses) {
      const kind = privateAddressKind(address);
      if (kind !== undefined) refuse(`the host ${host} resolves to ${address}, ${kind} (${PRIVATE_SETTING})`);
    }
  }
  return addresses.map(({ address }) => address).filter((address) => isIPv4(address) || isIPv6(address));
};

/** The whole policy: the form, then DNS. What POST /api/sessions asks, and the clone again before it fetches. */
export const checkRepoUrl = async (
  raw: string,
  policy: RepoUrlPolicy,
): Promise<CheckedRepoUrl & { readonly addresses: readonly string[] }> => {
  const checked = await checkRepoUrlForm(raw, policy);
  return { ...checked, addresses: await resolveRepoUrlHost(checked, policy) };
};

/** `checkRepoUrl` as a domain result: the URL as kept, or the reason it is refused (other failures still throw). */
export const repoUrlVerdict = async (
  raw: string,
  policy: RepoUrlPolicy,
): Promise<E.Either<string, CheckedRepoUrl & { readonly addresses: readonly string[] }>> => {
  try {
    return E.right(await checkRepoUrl(raw, policy));
  } catch (error) {
    if (error instanceof RepoUrlRefusedError) return E.left(error.reason);
    throw error;
  }
};
