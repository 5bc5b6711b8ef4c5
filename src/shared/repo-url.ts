import { isIPv4, isIPv6 } from 'node:net';
import { isAbsolute, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A repository URL as the gateway reads it, before any policy: what git will be given (never
 * with a password or, over http(s), a user: credentials come from configuration) and the
 * repository's identity, which names its clone.
 */
export type RepoUrl =
  | {
      readonly kind: 'remote';
      readonly transport: 'https' | 'http' | 'ssh';
      /** What git is given, and what events keep and views show. */
      readonly url: string;
      /** Lowercased; IPv6 in brackets. */
      readonly host: string;
      /** Null for the transport's default port. */
      readonly port: number | null;
      /** `<host>[_<port>]` and the path's segments, without a trailing `.git`: the same for every way of writing the repository. */
      readonly identity: readonly string[];
    }
  | { readonly kind: 'local'; readonly url: string; readonly path: string };

/** Why a repository URL may not be used; `reason` is what the client is told. */
export class RepoUrlRefusedError extends Error {
  override readonly name = 'RepoUrlRefusedError';
  /** `of`: which repository, e.g. `repo web (https://host/web.git)`, for a message read without the request beside it. */
  constructor(
    readonly reason: string,
    of?: string,
  ) {
    super(`${of === undefined ? 'the repository url' : of} is refused: ${reason}`);
  }
}

const DEFAULT_PORTS = { https: 443, http: 80, ssh: 22 } as const;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** A path segment that can be a folder: never `.`, `..`, hidden, an option or anything a shell or git reads specially. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._+-]{0,99}$/;
const SSH_USER = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

const refuse = (reason: string): never => {
  throw new RepoUrlRefusedError(reason);
};

/** A host as URL parsers normalise it (lowercase, IPv4 in dotted decimal however written, punycode), and only a DNS name or an IP. */
const normaliseHost = (raw: string): string => {
  let host: string;
  try {
    host = new URL(`http://${raw}/`).hostname;
  } catch {
    return refuse(`${JSON.stringify(raw)} is not a host name`);
  }
  if (isIPv4(host) || (host.startsWith('[') && isIPv6(host.slice(1, -1))) || DNS_NAME.test(host)) return host;
  return refuse(`${JSON.stringify(host)} is not a host name`);
};

/**
 * The path's segments as folder names: each checked, a trailing `/` and `.git` dropped. Only the
 * last may end in `.git`, so one repository's clone folder never holds another's.
 */
export const pathSegments = (
  path: string,
  options: { readonly what?: string; readonly keepDotGit?: boolean } = {},
): string[] => {
  const what = options.what ?? 'the repository path';
  const segments = path.split('/').filter((segment) => segment !== '');
  if (segments.length === 0 || segments.length > 20) return refuse(`${what} must have 1 to 20 parts`);
  const last = segments.length - 1;
  if (!options.keepDotGit) segments[last] = segments[last]!.replace(/\.git$/, '');
  segments.forEach((segment, index) => {
    if (!SEGMENT.test(segment))
      refuse(`${what} part ${JSON.stringify(segment)} is not a plain name (letters, digits, . _ + -)`);
    if (index < last && segment.endsWith('.git')) refuse(`${what} part ${JSON.stringify(segment)} may not end in .git`);
  });
  return segments;
};

const identityOf = (host: string, port: number | null, path: string): string[] => [
  port === null ? host : `${host}_${port}`,
  ...pathSegments(path),
];

const portOf = (transport: keyof typeof DEFAULT_PORTS, raw: string | undefined): number | null => {
  if (raw === undefined || raw === '') return null;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return refuse(`port ${raw} is not 1..65535`);
  return port === DEFAULT_PORTS[transport] ? null : port;
};

/** `https://host/path` and `http://…`: WHATWG's parser, so the host git is given is the host checked. */
const parseHttp = (raw: string): RepoUrl => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('not a URL');
  }
  if (url.search !== '' || url.hash !== '') refuse('a repository URL has no query or fragment');
  const transport = url.protocol === 'https:' ? 'https' : 'http';
  const host = normaliseHost(url.hostname);
  const port = portOf(transport, url.port);
  url.username = '';
  url.password = '';
  return { kind: 'remote', transport, url: url.href, host, port, identity: identityOf(host, port, url.pathname) };
};

/** `ssh://[user[:password]@]host[:port]/path`; the password is dropped (ssh authenticates by key). */
const parseSsh = (raw: string): RepoUrl => {
  const match = /^ssh:\/\/(?:([^/]*)@)?(\[[^\]/]*\]|[^/:@[\]]*)(?::(\d*))?(\/.*)$/i.exec(raw);
  if (!match) return refuse('not an ssh://[user@]host[:port]/path URL');
  const [, userinfo, rawHost, rawPort, path] = match;
  const user = userinfo === undefined ? undefined : userinfo.split(':')[0]!;
  if (user !== undefined && !SSH_USER.test(user)) refuse(`${JSON.stringify(user)} is not an ssh user name`);
  const host = normaliseHost(rawHost!);
  const port = portOf('ssh', rawPort);
  const identity = identityOf(host, port, path!);
  const url = `ssh://${user === undefined ? '' : `${user}@`}${host}${port === null ? '' : `:${port}`}${path}`;
  return { kind: 'remote', transport: 'ssh', url, host, port, identity };
};

/** scp-like `[user@]host:path`, as git reads it: a colon before any slash. */
const parseScp = (raw: string): RepoUrl => {
  const match = /^(?:([^@/:]+)@)?(\[[^\]/]*\]|[^/:@[\]]+):(.*)$/.exec(raw);
  if (!match) return refuse('not a URL, an scp-like user@host:path or an absolute path');
  const [, user, rawHost, path] = match;
  if (user !== undefined && !SSH_USER.test(user)) refuse(`${JSON.stringify(user)} is not an ssh user name`);
  if (path!.startsWith('-')) refuse('the path may not start with -');
  const host = normaliseHost(rawHost!);
  const identity = identityOf(host, null, path!);
  return {
    kind: 'remote',
    transport: 'ssh',
    url: `${user === undefined ? '' : `${user}@`}${host}:${path}`,
    host,
    port: null,
    identity,
  };
};

/** `file:///path` or an absolute path; the policy decides whether that folder may be cloned. */
const parseLocal = (raw: string): RepoUrl => {
  if (raw.startsWith('file:')) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return refuse('not a file:// URL');
    }
    if (url.search !== '' || url.hash !== '') refuse('a repository URL has no query or fragment');
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch {
      return refuse('a file:// URL names a folder on this machine (no host)');
    }
    return { kind: 'local', url: url.href, path: normalize(path) };
  }
  return { kind: 'local', url: raw, path: normalize(raw) };
};

/**
 * Reads a repository URL: `https://`, `http://`, `ssh://`, scp-like `user@host:path`, `file://`
 * or an absolute path. Everything else (relative paths, `git://`, remote helpers like
 * `ext::sh -c …`, options) is refused here, whatever the policy says.
 */
export const parseRepoUrl = (raw: string): RepoUrl => {
  const helper = /^([A-Za-z0-9][A-Za-z0-9+.-]*)::/.exec(raw)?.[1];
  if (helper !== undefined) return refuse(`git remote helpers (${helper}::) are not allowed`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\s\0-\x1f\x7f]/.test(raw)) refuse('a repository URL has no spaces or control characters');
  if (raw.startsWith('-')) refuse('a repository URL may not start with -');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === 'https' || scheme === 'http') return parseHttp(raw);
  if (scheme === 'ssh') return parseSsh(raw);
  if (scheme === 'file') return parseLocal(raw);
  if (scheme !== undefined)
    return refuse(`the ${scheme}:// transport is not allowed (https://, ssh:// and git@host:path are)`);
  if (isAbsolute(raw)) return parseLocal(raw);
  const colon = raw.indexOf(':');
  const slash = raw.indexOf('/');
  if (colon > 0 && (slash === -1 || colon < slash)) return parseScp(raw);
  return refuse('a relative path: give a URL, or an absolute path under the repos root');
};
