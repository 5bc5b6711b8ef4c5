import test from 'ava';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { connect } from 'node:net';

/**
 * The operator's view of `npm start`: the real entry point in a child process, driven
 * through its environment and observed through stdout, stderr, HTTP and its exit code.
 */

interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  readonly output: () => string;
  readonly errors: () => string;
}

const ENTRY = join(process.cwd(), 'src', 'main.ts');

const start = (env: Record<string, string>, cwd = process.cwd()): Started => {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    cwd,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, output: () => stdout, errors: () => stderr };
};

const waitFor = async (
  predicate: () => boolean,
  what: string,
  child: ChildProcessWithoutNullStreams,
): Promise<void> => {
  // Up to two minutes: tsx compiles the whole gateway at start (about 7 s alone on this machine),
  // and four of these tests start one at once beside the rest of the suite on two cores.
  for (let i = 0; i < 2400; i++) {
    if (predicate()) return;
    if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

const exitOf = async (child: ChildProcessWithoutNullStreams): Promise<number | null> => {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
};

const listeningUrl = (output: string): string | undefined => /listening on (http:\/\/[^\s"]+)/.exec(output)?.[1];

const tempDir = async (t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-main-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

test('npm start on loopback without tokens prints one operator token that works, and SIGTERM stops it cleanly', async (t) => {
  const dataDir = await tempDir(t);
  const gateway = start({ GATEWAY_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0' });
  t.teardown(() => void gateway.child.kill('SIGKILL'));
  await waitFor(() => listeningUrl(gateway.output()) !== undefined, 'the listening line', gateway.child);
  const url = listeningUrl(gateway.output())!;
  const token = /operator token[^:]*: (\S+)/.exec(gateway.output())?.[1];
  t.truthy(token, `no operator token printed in: ${gateway.output()}`);
  t.is(gateway.output().split(token!).length - 1, 1, 'the token is printed exactly once');
  // Whose rights the agent's shell has is said once: its own user's where the gateway is root.
  const said =
    process.getuid?.() === 0
      ? 'the agent (OpenCode) runs as its own user'
      : "the agent (OpenCode) runs as the gateway's own user";
  t.is(gateway.output().split(said).length - 1, 1, `the operator is told once: ${said}`);

  const health = await fetch(`${url}/health`);
  t.is(health.status, 200);
  t.deepEqual(await health.json(), { status: 'ok', version: '1.1.0' });
  const ready = await fetch(`${url}/ready`);
  t.is(ready.status, 200);
  t.is(((await ready.json()) as { checks: Record<string, string> }).checks['event_store'], 'ok');

  const audit = await fetch(`${url}/api/audit/events`, { headers: { authorization: 'Bearer wrong' } });
  t.is(audit.status, 401);

  gateway.child.kill('SIGTERM');
  t.is(await exitOf(gateway.child), 0);
  t.notRegex(gateway.errors(), /at .+\(.+:\d+:\d+\)/, 'no stack trace on shutdown');
});

test('a SIGTERM repeated during the graceful stop (as a child may send its whole process group) does not cut it short', async (t) => {
  const dataDir = await tempDir(t);
  const gateway = start({ GATEWAY_DATA_DIR: dataDir, PORT: '0', GATEWAY_TOKENS: 'slack:operator:first-token-123456' });
  t.teardown(() => void gateway.child.kill('SIGKILL'));
  await waitFor(() => listeningUrl(gateway.output()) !== undefined, 'the listening line', gateway.child);
  // A request still in flight holds the graceful stop open, so the second signal surely arrives during
  // it: the server's "100 Continue" says it has the request; its body is sent only after both signals.
  const { hostname, port } = new URL(listeningUrl(gateway.output())!);
  const client = connect(Number(port), hostname);
  t.teardown(() => void client.destroy());
  let answer = '';
  client.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  const body = JSON.stringify({ project: 'held' });
  client.write(
    `POST /api/sessions HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer first-token-123456\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
  );
  await waitFor(() => answer.includes('100 Continue'), 'the server to take the request', gateway.child);

  gateway.child.kill('SIGTERM');
  await waitFor(() => /shutting down/.test(gateway.output()), 'the stop begun', gateway.child);
  gateway.child.kill('SIGTERM');
  await waitFor(() => /already shutting down/.test(gateway.output()), 'the second signal noticed', gateway.child);
  client.write(body);
  t.is(await exitOf(gateway.child), 0, `ended by ${gateway.child.signalCode ?? 'an exit code'}`);
  t.regex(answer, /100 Continue[\s\S]*HTTP\/1\.1 4\d\d /, 'the request in flight was answered before the exit');
  t.regex(gateway.output(), /"msg":"stopped"/);
});

test('a second gateway on the same data folder refuses to start and says why', async (t) => {
  const dataDir = await tempDir(t);
  const first = start({ GATEWAY_DATA_DIR: dataDir, PORT: '0', GATEWAY_TOKENS: 'slack:operator:first-token-123456' });
  t.teardown(() => void first.child.kill('SIGKILL'));
  await waitFor(() => listeningUrl(first.output()) !== undefined, 'the first gateway', first.child);
  const second = start({ GATEWAY_DATA_DIR: dataDir, PORT: '0', GATEWAY_TOKENS: 'slack:operator:first-token-123456' });
  t.not(await exitOf(second.child), 0);
  t.regex(second.errors(), /locked/i);
  t.notRegex(second.errors(), /at .+\(.+:\d+:\d+\)/, 'no stack trace');
  first.child.kill('SIGTERM');
  const code = await exitOf(first.child);
  // If it ever fails, say how it ended and what it said last (a CI run once saw it end by a signal).
  t.is(
    code,
    0,
    `the first gateway ended by ${first.child.signalCode ?? `code ${code}`}; its last words: ${(first.output() + first.errors()).split('\n').slice(-6).join('\n')}`,
  );
});

test('on a non-loopback address without tokens the gateway refuses to start', async (t) => {
  const dataDir = await tempDir(t);
  const gateway = start({ GATEWAY_DATA_DIR: dataDir, HOST: '0.0.0.0', PORT: '0' });
  t.not(await exitOf(gateway.child), 0);
  t.regex(gateway.errors(), /token/i);
  t.is(listeningUrl(gateway.output()), undefined);
});

test('an invalid configuration file stops start-up naming every bad key, without a stack trace', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'bad.yaml');
  await writeFile(
    file,
    ['server:', '  port: not-a-port', '  hots: 127.0.0.1', 'webhooks:', '  retry_attempts: -3', ''].join('\n'),
  );
  const gateway = start({ GATEWAY_CONFIG: file, GATEWAY_DATA_DIR: dir });
  t.not(await exitOf(gateway.child), 0);
  const errors = gateway.errors();
  t.regex(errors, /server\.port/);
  t.regex(errors, /server\.hots/);
  t.regex(errors, /webhooks\.retry_attempts/);
  t.notRegex(errors, /at .+\(.+:\d+:\d+\)/, 'no stack trace');
});

test('the shipped configuration names no model: one line at start says how to configure one, /ready says so (degraded, 200), and stdout, not a terminal, gets JSON lines', async (t) => {
  const dataDir = await tempDir(t);
  const gateway = start({ GATEWAY_DATA_DIR: dataDir, PORT: '0', GATEWAY_TOKENS: 'slack:operator:first-token-123456' });
  t.teardown(() => void gateway.child.kill('SIGKILL'));
  await waitFor(() => listeningUrl(gateway.output()) !== undefined, 'the listening line', gateway.child);
  const lines = gateway.output().trim().split('\n');
  const records = lines.map((line) => {
    try {
      return JSON.parse(line) as { msg: string };
    } catch {
      return t.fail(`not a JSON line: ${line}`);
    }
  });
  const said = records.filter((record) => record?.msg.includes('no model configured'));
  t.is(said.length, 1, 'said once');
  t.regex(said[0]!.msg, /opencode\.config.*GATEWAY_OPENCODE_CONFIG.*provider.*model/);

  const ready = await fetch(`${listeningUrl(gateway.output())!}/ready`);
  t.is(ready.status, 200, 'a missing model does not take the API out of its Service');
  t.like(await ready.json(), { status: 'degraded', checks: { event_store: 'ok', opencode: 'no model configured' } });
  gateway.child.kill('SIGTERM');
  t.is(await exitOf(gateway.child), 0);
});

/** A working folder with only what the shipped configuration reads there (config/, node_modules/). */
const bareWorkingFolder = async (root: string): Promise<string> => {
  const cwd = join(root, 'cwd');
  await mkdir(cwd);
  await symlink(join(process.cwd(), 'config'), join(cwd, 'config'));
  await symlink(join(process.cwd(), 'node_modules'), join(cwd, 'node_modules'));
  // Where the gateway is root, its OpenCode runs as another user, who must pass through to the binary.
  await chmod(root, 0o755);
  return cwd;
};

test('two gateways started with different GATEWAY_DATA_DIR keep nothing in common: not the working folder, HOME or TMPDIR, nor OpenCode state', async (t) => {
  const shared = await tempDir(t);
  const cwd = await bareWorkingFolder(shared);
  const home = join(shared, 'home');
  const tmp = join(shared, 'tmp');
  await mkdir(home);
  await mkdir(tmp);
  const dataDirs = [await tempDir(t), await tempDir(t)];
  const gateways = dataDirs.map((dataDir) =>
    start(
      {
        GATEWAY_DATA_DIR: dataDir,
        PORT: '0',
        HOME: home,
        TMPDIR: tmp,
        GATEWAY_TOKENS: 'slack:operator:first-token-123456',
      },
      cwd,
    ),
  );
  t.teardown(() => gateways.forEach((gateway) => gateway.child.kill('SIGKILL')));
  for (const gateway of gateways)
    await waitFor(() => /OpenCode server started/.test(gateway.output()), 'its OpenCode server', gateway.child);

  for (const dataDir of dataDirs) {
    const opencode = join(dataDir, 'workspace', '.opencode-sessions');
    t.true((await stat(join(opencode, 'data', 'opencode', 'opencode.db'))).isFile(), `OpenCode's SQLite in ${dataDir}`);
    t.true((await stat(join(opencode, 'tmp', 'opencode'))).isDirectory(), `OpenCode's TMPDIR in ${dataDir}`);
    t.true((await stat(join(dataDir, 'events'))).isDirectory());
  }
  for (const gateway of gateways) gateway.child.kill('SIGTERM');
  for (const gateway of gateways) t.is(await exitOf(gateway.child), 0);

  t.deepEqual((await readdir(cwd)).sort(), ['config', 'node_modules'], 'nothing made in the working folder');
  t.deepEqual(await readdir(home), [], 'nothing in HOME');
  // tsx, which runs the TypeScript entry point here, keeps its compile cache in TMPDIR: not the gateway's.
  t.deepEqual(
    (await readdir(tmp)).filter((name) => !name.startsWith('tsx-')),
    [],
    'nothing in TMPDIR',
  );
});
