import test from 'ava';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { cloneArguments } from '../../src/workspaces/clone.js';
import { GitCredential, loadGitCredentials } from '../../src/workspaces/git-credentials.js';
import { privateAddressKind } from '../../src/shared/private-addresses.js';
import { parseRepoUrl, RepoUrlRefusedError } from '../../src/shared/repo-url.js';
import { redactUrlCredentials, withoutUrlCredentials } from '../../src/shared/url-credentials.js';
import {
  checkRepoUrl,
  DEFAULT_URL_PATTERNS,
  type Lookup,
  type RepoUrlPolicy,
} from '../../src/shared/repo-url-policy.js';

const refusal = (raw: string): string => {
  try {
    parseRepoUrl(raw);
  } catch (error) {
    if (error instanceof RepoUrlRefusedError) return error.reason;
    throw error;
  }
  throw new Error(`${raw} was not refused`);
};

test('every way of writing one repository has one identity; credentials, default ports, .git and / are not part of it', (t) => {
  const github = ['github.com', 'Org', 'Repo'];
  for (const raw of [
    'https://github.com/Org/Repo.git',
    'https://GitHub.COM/Org/Repo',
    'https://user:token@github.com:443/Org/Repo.git/',
    'git@github.com:Org/Repo.git',
    'git@github.com:/Org/Repo',
    'ssh://git@github.com/Org/Repo.git',
    'ssh://git:password@GITHUB.com:22/Org/Repo/',
  ]) {
    const parsed = parseRepoUrl(raw);
    t.is(parsed.kind, 'remote', raw);
    if (parsed.kind === 'remote') t.deepEqual(parsed.identity, github, raw);
  }
  const other = parseRepoUrl('https://github.com:8443/Org/Repo.git');
  t.deepEqual(
    other.kind === 'remote' && other.identity,
    ['github.com_8443', 'Org', 'Repo'],
    'another port is another server',
  );
});

test('what git is given and events keep: no credentials, the host as checked', (t) => {
  t.like(parseRepoUrl('https://user:token@GitHub.com:443/Org/Repo.git'), {
    url: 'https://github.com/Org/Repo.git',
    transport: 'https',
    host: 'github.com',
    port: null,
  });
  t.like(
    parseRepoUrl('ssh://git:password@host.example:2222/x/y.git'),
    { url: 'ssh://git@host.example:2222/x/y.git', transport: 'ssh', port: 2222 },
    'ssh keeps its user name, never a password',
  );
  t.like(
    parseRepoUrl('git@host.example:x/y.git'),
    { url: 'git@host.example:x/y.git', transport: 'ssh' },
    'scp-like stays scp-like (its path is relative to the home)',
  );
  // However an IP is written, git gets (and the policy checks) the one address it means.
  t.like(parseRepoUrl('https://0x7f.1/x.git'), { host: '127.0.0.1', url: 'https://127.0.0.1/x.git' });
  t.like(parseRepoUrl('https://2130706433/x.git'), { host: '127.0.0.1' });
  t.like(parseRepoUrl('file:///srv/repos/a'), { kind: 'local', path: '/srv/repos/a' });
  t.like(parseRepoUrl('/srv/repos/../repos/a'), { kind: 'local', path: '/srv/repos/a' });
});

test('forms git would read as something else are refused, whatever the policy', (t) => {
  t.regex(refusal('ext::sh -c touch% /tmp/pwned'), /remote helpers \(ext::\)/);
  t.regex(refusal('fd::7'), /remote helpers/);
  t.regex(refusal('git://host.example/x'), /git:\/\/ transport is not allowed/);
  t.regex(refusal('ftp://host.example/x'), /ftp:\/\/ transport/);
  t.regex(refusal('../x'), /relative path/);
  t.regex(refusal('x'), /relative path/);
  t.regex(refusal('--upload-pack=touch /tmp/x'), /remote helpers|spaces|-/);
  t.regex(refusal('-oProxyCommand=x:y'), /may not start with -/);
  t.regex(refusal('https://host.example/x.git\n'), /control characters/);
  t.regex(refusal('https://host.example/x.git?a=b'), /no query/);
  t.regex(refusal('https://host.example/'), /1 to 20 parts/);
  t.regex(refusal('https://host.example/a/../..'), /1 to 20 parts/);
  t.regex(refusal('https://host.example/~user/x'), /not a plain name/);
  t.regex(refusal('https://host.example/.hidden/x'), /not a plain name/);
  t.regex(
    refusal('https://host.example/a.git/b.git'),
    /may not end in .git/,
    "one repository's clone never holds another's",
  );
  t.regex(refusal('https://exa_mple.com/x'), /not a host name/);
  t.regex(refusal('ssh://-oProxyCommand=x/y'), /not a host name/);
  t.regex(refusal('ssh://git@host.example:99999/x'), /port 99999/);
});

test('private addresses by kind, however written; public ones pass', (t) => {
  for (const [address, kind] of [
    ['127.0.0.1', /loopback/],
    ['::1', /loopback/],
    ['[::1]', /loopback/],
    ['10.0.0.1', /RFC 1918/],
    ['172.16.5.4', /RFC 1918/],
    ['192.168.1.1', /RFC 1918/],
    ['100.64.0.1', /CGNAT/],
    ['169.254.169.254', /link-local/],
    ['fe80::1', /link-local/],
    ['fd12:3456::1', /unique local/],
    ['0.0.0.0', /unspecified/],
    ['::', /unspecified/],
    ['224.0.0.1', /multicast/],
    ['ff02::1', /multicast/],
    ['::ffff:127.0.0.1', /loopback/],
    ['::ffff:a00:1', /RFC 1918/],
    ['64:ff9b::10.0.0.1', /RFC 1918/],
  ] as const) {
    t.regex(privateAddressKind(address) ?? 'public', kind, address);
  }
  for (const address of ['8.8.8.8', '100.128.0.1', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])
    t.is(privateAddressKind(address), undefined, address);
});

const policyIn = async (
  t: import('ava').ExecutionContext,
  lookup: Lookup,
  overrides: Partial<RepoUrlPolicy> = {},
): Promise<RepoUrlPolicy & { root: string }> => {
  const root = await mkdtemp(join(tmpdir(), 'url-policy-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const reposRoot = join(root, 'repos');
  await mkdir(join(reposRoot, 'upstream', 'alpha.git'), { recursive: true });
  await mkdir(join(reposRoot, '_clones', '_local', 'x.git'), { recursive: true });
  await symlink('/etc', join(reposRoot, 'escape'));
  return { root, reposRoot, allowedPatterns: DEFAULT_URL_PATTERNS, allowPrivateAddresses: false, lookup, ...overrides };
};

const reasonOf = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RepoUrlRefusedError) return error.reason;
    throw error;
  }
  return 'allowed';
};

test('the policy: allowed patterns, addresses written or resolved, local folders only under the repos root', async (t) => {
  const answers: Record<string, string[]> = {
    'git.example.com': ['93.184.215.14', '2606:2800:21f::1'],
    'rebound.example.com': ['93.184.215.14', '10.0.0.7'],
    localhost: ['127.0.0.1'],
  };
  const asked: string[] = [];
  const lookup: Lookup = async (host) => {
    asked.push(host);
    const addresses = answers[host];
    if (!addresses) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  const policy = await policyIn(t, lookup);
  t.like(await checkRepoUrl('https://u:p@git.example.com/org/app.git', policy), {
    url: 'https://git.example.com/org/app.git',
    addresses: ['93.184.215.14', '2606:2800:21f::1'],
  });
  t.like(await checkRepoUrl('git@git.example.com:org/app.git', policy), {
    transport: 'ssh',
    identity: ['git.example.com', 'org', 'app'],
  });
  t.regex(
    await reasonOf(checkRepoUrl('http://git.example.com/org/app.git', policy)),
    /workspace.allowed_url_patterns \(https:\/\/, ssh:\/\/, git@\)/,
  );
  t.regex(await reasonOf(checkRepoUrl('deploy@git.example.com:org/app.git', policy)), /allowed_url_patterns/);
  t.regex(await reasonOf(checkRepoUrl('https://10.0.0.1/x.git', policy)), /10.0.0.1 is a private address/);
  t.regex(await reasonOf(checkRepoUrl('https://[::1]/x.git', policy)), /loopback/);
  t.regex(
    await reasonOf(checkRepoUrl('https://localhost/x.git', policy)),
    /localhost resolves to 127.0.0.1, a loopback address/,
  );
  t.regex(
    await reasonOf(checkRepoUrl('https://rebound.example.com/x.git', policy)),
    /resolves to 10.0.0.7/,
    'one private answer among public ones is enough',
  );
  t.regex(await reasonOf(checkRepoUrl('https://nowhere.example.com/x.git', policy)), /does not resolve \(ENOTFOUND\)/);
  t.false(asked.includes('10.0.0.1'), 'an IP written in the URL is not looked up');

  const local = `file://${join(policy.reposRoot, 'upstream', 'alpha.git')}`;
  t.like(await checkRepoUrl(local, policy), {
    url: local,
    transport: 'file',
    identity: ['_local', 'upstream', 'alpha.git'],
  });
  t.like(await checkRepoUrl(join(policy.reposRoot, 'upstream', 'alpha.git'), policy), { transport: 'file' });
  t.regex(await reasonOf(checkRepoUrl('file:///etc', policy)), /not under workspace.repos_root/);
  t.regex(await reasonOf(checkRepoUrl('/etc', policy)), /not under workspace.repos_root/);
  t.regex(
    await reasonOf(checkRepoUrl('/nonexistent/elsewhere', policy)),
    /not under workspace.repos_root/,
    'nothing is told of folders elsewhere, not even whether they exist',
  );
  t.regex(
    await reasonOf(checkRepoUrl(join(policy.reposRoot, 'escape'), policy)),
    /not under workspace.repos_root/,
    'a symlink out of the root',
  );
  t.regex(await reasonOf(checkRepoUrl(`file://${join(policy.reposRoot, '..', 'repos', '..')}`, policy)), /not under/);
  t.regex(
    await reasonOf(checkRepoUrl(join(policy.reposRoot, '_clones', '_local', 'x.git'), policy)),
    /the gateway's own clones/,
  );
  t.regex(await reasonOf(checkRepoUrl(join(policy.reposRoot, 'upstream', 'missing'), policy)), /does not exist/);

  const open = await policyIn(t, lookup, {
    allowedPatterns: ['http://localhost:', 'https://'],
    allowPrivateAddresses: true,
  });
  t.like(await checkRepoUrl('http://localhost:8080/x.git', open), { addresses: ['127.0.0.1'], port: 8080 });
  t.like(await checkRepoUrl('https://10.0.0.1/x.git', open), { addresses: [] });
});

test('a name that never answers is refused after the DNS timeout', async (t) => {
  const policy = await policyIn(t, () => new Promise(() => undefined), { dnsTimeoutMs: 100 });
  t.regex(await reasonOf(checkRepoUrl('https://slow.example.com/x.git', policy)), /did not resolve within 0.1 s/);
});

test('git gets only the transport the URL needs, no redirects, and the checked addresses pinned', (t) => {
  const args = cloneArguments(
    {
      url: 'https://git.example.com/x.git',
      source: 'https://git.example.com/x.git',
      transport: 'https',
      host: 'git.example.com',
      port: null,
      identity: ['git.example.com', 'x'],
    },
    ['93.184.215.14', '2606:2800:21f::1'],
    '/target',
  );
  const config = args.flatMap((arg, index) => (args[index - 1] === '-c' ? [arg] : []));
  t.true(config.includes('protocol.allow=never'));
  t.deepEqual(
    config.filter((entry) => entry.endsWith('=always')),
    ['protocol.https.allow=always'],
  );
  for (const transport of ['ext', 'fd', 'file', 'git', 'http', 'ssh'])
    t.true(config.includes(`protocol.${transport}.allow=never`), transport);
  t.true(config.includes('http.followRedirects=false'));
  t.true(config.includes('http.curloptResolve=git.example.com:443:93.184.215.14,[2606:2800:21f::1]'));
  t.deepEqual(
    args.slice(-4),
    ['--no-hardlinks', '--', 'https://git.example.com/x.git', '/target'],
    'the url after --: never an option',
  );
});

test('credentials in text and JSON are removed; ssh keeps its user name', (t) => {
  t.is(withoutUrlCredentials('https://user:token@host/x.git'), 'https://host/x.git');
  t.is(
    withoutUrlCredentials("fatal: unable to access 'https://ghp_abc@github.com/o/r.git/': 403"),
    "fatal: unable to access 'https://github.com/o/r.git/': 403",
  );
  t.is(withoutUrlCredentials('ssh://git:pw@host/x and HTTP://a:b@c@host/y'), 'ssh://git@host/x and HTTP://host/y');
  t.is(withoutUrlCredentials('mail me at ann@example.com'), 'mail me at ann@example.com');
  const data = {
    repos: [
      { name: 'a', url: 'https://u:p@h/a.git' },
      { name: 'b', url: null },
    ],
    task: { title: 't' },
  };
  const { value, paths } = redactUrlCredentials(data);
  t.deepEqual(value, {
    repos: [
      { name: 'a', url: 'https://h/a.git' },
      { name: 'b', url: null },
    ],
    task: { title: 't' },
  });
  t.deepEqual(paths, ['repos[0].url']);
  t.is(redactUrlCredentials(data.task).value, data.task, 'nothing to remove: the same object');
});

test('configured credentials: read from the environment, never printed', (t) => {
  const [credential] = loadGitCredentials(
    [{ host: 'Git.Example.com', username: 'bot', password_env: 'TOKEN_FOR_TEST' }],
    { TOKEN_FOR_TEST: 's3cret-value' },
  );
  t.true(credential instanceof GitCredential);
  t.is(credential!.host, 'git.example.com');
  t.is(credential!.header(), `Authorization: Basic ${Buffer.from('bot:s3cret-value').toString('base64')}`);
  t.false(JSON.stringify({ credential }).includes(Buffer.from('bot:s3cret-value').toString('base64')));
  t.false(inspect(credential).includes('s3cret'));
  t.throws(() => loadGitCredentials([{ host: 'h', username: 'bot', password_env: 'UNSET_VARIABLE' }], {}), {
    message: /git_credentials\[0\]\.password_env: the environment variable UNSET_VARIABLE is not set/,
  });
});
