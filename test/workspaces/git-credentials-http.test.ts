import test, { type ExecutionContext } from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import pino from 'pino';
import { simpleGit } from 'simple-git';
import { wasRedacted } from '../../src/audit/audit-event.js';
import { httpSource } from '../../src/audit/http-source.js';
import { verifyLog } from '../../src/audit/verify.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { testContext } from '../support/test-store.js';
import { makeRepo, startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const call = caller(OPERATOR);

const USERNAME = 'gateway-bot';
const PASSWORD = 'clone-password-4711-do-not-leak';
const BASIC = Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64');
/** What someone wrote into the URL itself: never used, never kept. */
const URL_PASSWORD = 'url-password-0815-do-not-leak';

/** The command lines of every process on the machine. */
const commandLines = (): string[] =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')];
      } catch {
        return [];
      }
    });

/**
 * A git server over the dumb HTTP protocol (static files of a bare repository) that answers only
 * with Basic authentication as `USERNAME:PASSWORD`. At each request, while git is running, it
 * reads every process's command line.
 */
const serveRepository = async (t: ExecutionContext, bare: string) => {
  const seen = { requests: 0, authorized: 0, commandLines: [] as string[] };
  const server = createServer((request, response) => {
    seen.requests++;
    seen.commandLines.push(...commandLines());
    if (request.headers.authorization !== `Basic ${BASIC}`) {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
      return;
    }
    seen.authorized++;
    const path = new URL(request.url!, 'http://server').pathname.replace(/^\/private\.git\//, '');
    const file = resolve(bare, decodeURIComponent(path));
    if (!file.startsWith(`${bare}${sep}`)) {
      response.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.teardown(() => new Promise<void>((done) => server.close(() => done())));
  return { port: (server.address() as { port: number }).port, seen };
};

test('a clone over HTTP that needs Basic auth succeeds with the configured credentials; the password, and one written into the URL, appear in no event, view, log line or command line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'git-credentials-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await makeRepo(dir, 'source');
  const bare = join(dir, 'private.git');
  await simpleGit().raw(['clone', '-q', '--bare', join(dir, 'source'), bare]);
  await simpleGit(bare).raw(['update-server-info']);
  const { port, seen } = await serveRepository(t, bare);
  t.is((await fetch(`http://127.0.0.1:${port}/private.git/HEAD`)).status, 401, 'the server wants credentials');
  seen.requests = 0;

  // The password reaches the gateway as a Kubernetes Secret would: an environment variable named in the configuration.
  process.env['GIT_PASSWORD_FOR_TEST'] = PASSWORD;
  t.teardown(() => delete process.env['GIT_PASSWORD_FOR_TEST']);
  const logLines: string[] = [];
  const gateway = await startTestGateway(t, {
    tokens: `ops:operator:${OPERATOR},grafana:viewer:${VIEWER}`,
    workspace: {
      allowed_url_patterns: ['http://127.0.0.1:'],
      allow_private_addresses: true,
      git_credentials: [{ host: `127.0.0.1:${port}`, username: USERNAME, password_env: 'GIT_PASSWORD_FOR_TEST' }],
    },
    logger: pino({ level: 'trace' }, { write: (line: string) => logLines.push(line) }),
  });

  const asked = `http://someone:${URL_PASSWORD}@127.0.0.1:${port}/private.git`;
  const shown = `http://127.0.0.1:${port}/private.git`;
  const response = await call(gateway, 'POST', '/api/sessions', {
    category: 'platform',
    project: 'billing',
    repos: [{ name: 'api', url: asked }],
    task: { title: 'Improve things', description: 'Please have a look.' },
  });
  t.is(response.status, 202);
  const created = (await response.json()) as { session_id: string; repos: { url: string }[] };
  t.is(created.repos[0]!.url, shown, 'accepted, and shown without its credentials');
  const ready = await waitForSessionStatus<{ status: string; repos: { url: string; worktree_path: string }[] }>(
    call,
    gateway,
    created.session_id,
    'awaiting_route',
  );
  t.is(
    await readFile(join(ready.repos[0]!.worktree_path, 'README.md'), 'utf8'),
    '# source\n',
    'cloned through the authenticated server',
  );
  t.true(
    seen.authorized > 0 && seen.authorized === seen.requests,
    `every request carried the configured credentials (${seen.authorized} of ${seen.requests})`,
  );
  t.true(
    seen.commandLines.some((line) => line.includes(`127.0.0.1:${port}/private.git`)),
    'the command lines were read while git was fetching (so the check below could see a leak)',
  );

  const viewed = await (
    await call(gateway, 'GET', `/api/sessions/${created.session_id}`, undefined, {}, VIEWER)
  ).text();
  const listed = await (await call(gateway, 'GET', '/api/sessions', undefined, {}, VIEWER)).text();
  const audited = await (await call(gateway, 'GET', '/api/audit/events?limit=500')).text();
  const stored = JSON.stringify(await gateway.eventLog.store.readAll({ fromPosition: 0, maxCount: 10_000 }));
  t.true(viewed.includes(shown) && stored.includes(shown));
  t.true(logLines.length > 0, 'the gateway logged');
  for (const [where, text] of [
    ['the view', viewed],
    ['the list', listed],
    ['the audit API', audited],
    ['the stored events', stored],
    ['the log', logLines.join('')],
    ['the command lines', seen.commandLines.join('\n')],
  ] as const) {
    for (const secret of [PASSWORD, BASIC, URL_PASSWORD]) t.false(text.includes(secret), `${where} holds no secret`);
  }
});

test('events written before URLs were kept without credentials are shown redacted: in views, and in the audit API, which still verifies', async (t) => {
  const gateway = await startTestGateway(t, { tokens: `ops:operator:${OPERATOR},grafana:viewer:${VIEWER}` });
  const old = 'https://user:old-token-1234@no-such-host.invalid/x.git';
  await gateway.eventLog.append(
    'session-old',
    [
      {
        type: 'SessionCreated',
        data: {
          session_id: 'old',
          category: 'platform',
          project: 'old',
          repos: [{ name: 'api', url: old, ref: null }],
          task: { title: 't', description: '' },
          requested_by: null,
          created_at: new Date().toISOString(),
        },
      },
    ],
    { expectedRevision: 'no_stream', context: testContext() },
  );
  const view = await waitForSessionStatus<{ status: string; repos: { url: string }[] }>(call, gateway, 'old', 'failed');
  t.is(view.repos[0]!.url, 'https://no-such-host.invalid/x.git');
  t.is(
    (
      (await (await call(gateway, 'GET', '/api/sessions/old?as_of=0', undefined, {}, VIEWER)).json()) as {
        repos: { url: string }[];
      }
    ).repos[0]!.url,
    'https://no-such-host.invalid/x.git',
    'a past view too',
  );

  const page = (await (await call(gateway, 'GET', '/api/audit/streams/session-old')).json()) as {
    items: { type: string; data: { repos?: { url: string }[] }; redacted?: string[] }[];
  };
  const createdItem = page.items.find((item) => item.type === 'SessionCreated')!;
  t.is(createdItem.data.repos![0]!.url, 'https://no-such-host.invalid/x.git');
  t.deepEqual(createdItem.redacted, ['data.repos[0].url'], 'the item says what was removed');
  t.false(JSON.stringify(page).includes('old-token-1234'));
  t.true(
    JSON.stringify(await gateway.eventLog.store.readStream('session-old')).includes('old-token-1234'),
    'the log itself is not rewritten: its hashes cover it',
  );

  // The gateway verifies the raw log; a client verifying through the API takes the redacted event's hash as given.
  t.like(await (await call(gateway, 'GET', '/api/audit/verify')).json(), { ok: true });
  const source = httpSource({ url: gateway.url, token: OPERATOR });
  t.like(await verifyLog(source), { ok: true, first_bad: null });
  const read = await source.readStream('session-old', 0, 10);
  t.deepEqual(
    read.map(wasRedacted),
    read.map((event) => event.type === 'SessionCreated'),
  );
});
