import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { simpleGit } from 'simple-git';
import { eventually, until } from '../support/eventually.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { makeRepo, startTestGateway, type TestGateway } from '../support/test-gateway.js';

/**
 * A clone by URL is fetched each time a session's workspace is prepared (issue 18): a later
 * session starts from what the remote has now, a ref the kept builder branch does not start from
 * fails the session saying what to do, and a fetch that fails fails the session as a clone does.
 */
const OPERATOR = 'operator-token-0123456789';
const call = caller(OPERATOR);
const IDENTITY = ['-c', 'user.name=Test', '-c', 'user.email=test@example.com'];
const PREFIX = 'The workspace could not be prepared: ';

type View = {
  session_id: string;
  status: string;
  error: string | null;
  workspace_path: string | null;
  repos: { name: string; base_commit: string | null; worktree_path: string | null; branch: string | null }[];
};
type AuditItem = { type: string; data: { reason?: string; output?: string | null } };

/** A new commit on the checked-out branch of the repository at `path`; its id. */
const commit = async (path: string, file: string, text: string): Promise<string> => {
  await writeFile(join(path, file), text);
  await simpleGit(path).add('.');
  await simpleGit(path).raw([...IDENTITY, 'commit', '-q', '-m', `${file}: ${text.trim()}`]);
  return (await simpleGit(path).revparse(['HEAD'])).trim();
};

/** Opens a session of `project` on one repo; its id. */
const open = async (
  gateway: TestGateway,
  project: string,
  repo: { name: string; url: string; ref?: string },
): Promise<string> => {
  const response = await call(gateway, 'POST', '/api/sessions', {
    category: 'platform',
    project,
    repos: [repo],
    task: { title: 'Improve things', description: 'Please have a look.' },
  });
  if (response.status !== 202) throw new Error(`POST /api/sessions: ${response.status} ${await response.text()}`);
  return ((await response.json()) as View).session_id;
};

const streamOf = async (gateway: TestGateway, stream: string): Promise<AuditItem[]> =>
  ((await (await call(gateway, 'GET', `/api/audit/streams/${stream}`)).json()) as { items: AuditItem[] }).items;

/** The builder's own process manager frees it just after its session ends: asking before then is refused. */
const builderFree = (gateway: TestGateway, builder: string): Promise<true> =>
  until(
    async () => (await streamOf(gateway, `builder-${builder}`)).at(-1)?.type === 'BuilderReleased',
    `builder ${builder} released`,
  );

/** Closes the session and waits until its project may be asked for again (and its workspace is gone, when removed). */
const close = async (
  t: ExecutionContext,
  gateway: TestGateway,
  view: View,
  removeWorkspace: boolean,
): Promise<void> => {
  const closed = await call(gateway, 'POST', `/api/sessions/${view.session_id}/close`, {
    remove_workspace: removeWorkspace,
  });
  t.is(closed.status, 202);
  if (removeWorkspace) await until(() => !existsSync(view.workspace_path!), 'the workspace removed');
  await builderFree(gateway, 'platform-billing');
};

/** An ordinary repository under the repos root, given by `file://` URL: the remote. */
const localRemote = async (gateway: TestGateway) => {
  const path = await makeRepo(gateway.reposRoot, 'upstream/api');
  return { path, url: `file://${path}`, first: (await simpleGit(path).revparse(['HEAD'])).trim() };
};

test('a commit pushed to the remote after a first session is the base of the next one, and a branch made since is found; the first worktree is left as it was', async (t) => {
  const gateway = await startTestGateway(t, { tokens: `ops:operator:${OPERATOR}` });
  const remote = await localRemote(gateway);
  const first = await waitForSessionStatus<View>(
    call,
    gateway,
    await open(gateway, 'one', { name: 'api', url: remote.url }),
    'awaiting_route',
  );
  t.is(first.repos[0]!.base_commit, remote.first);

  const second = await commit(remote.path, 'README.md', '# upstream/api, second\n');
  await simpleGit(remote.path).raw(['switch', '-q', '-c', 'release']);
  const third = await commit(remote.path, 'CHANGES.md', 'release notes\n');
  await simpleGit(remote.path).raw(['switch', '-q', 'main']);

  const next = await waitForSessionStatus<View>(
    call,
    gateway,
    await open(gateway, 'two', { name: 'api', url: remote.url }),
    'awaiting_route',
  );
  t.is(next.repos[0]!.base_commit, second, 'the remote’s HEAD as it is now, not as it was cloned');
  t.is(await readFile(join(next.repos[0]!.worktree_path!, 'README.md'), 'utf8'), '# upstream/api, second\n');
  t.is(
    (await simpleGit(next.repos[0]!.worktree_path!).revparse(['HEAD'])).trim(),
    second,
    'the new builder branch starts there',
  );
  const release = await waitForSessionStatus<View>(
    call,
    gateway,
    await open(gateway, 'three', { name: 'api', url: remote.url, ref: 'release' }),
    'awaiting_route',
  );
  t.is(release.repos[0]!.base_commit, third, 'a branch the remote made after the clone');
  t.is(
    await readFile(join(first.repos[0]!.worktree_path!, 'README.md'), 'utf8'),
    '# upstream/api\n',
    'the fetch moved no branch: the first session’s worktree is as it was',
  );

  // The session's state file is still written where it was: at the top of its workspace.
  const stateFile = join(next.workspace_path!, '.session-state.yaml');
  const state = await eventually(async () => {
    const text = existsSync(stateFile) ? await readFile(stateFile, 'utf8') : '';
    return text.includes(`session_id: ${next.session_id}`) && text.includes('status: awaiting_route')
      ? text
      : undefined;
  }, 'the state file of the second session');
  t.true(state.includes(`base_commit: ${second}`));
});

test('a ref the kept builder branch does not start from fails the session, naming the repo, the ref, the branch and its base and what to do; asking as the error says works', async (t) => {
  const gateway = await startTestGateway(t, { tokens: `ops:operator:${OPERATOR}` });
  const remote = await localRemote(gateway);
  const api = (ref?: string) => ({ name: 'api', url: remote.url, ...(ref === undefined ? {} : { ref }) });
  const first = await waitForSessionStatus<View>(
    call,
    gateway,
    await open(gateway, 'billing', api()),
    'awaiting_route',
  );
  t.is(first.repos[0]!.base_commit, remote.first);
  // The workspace goes, the branch builder/platform-billing (and whatever work it holds) stays.
  await close(t, gateway, first, true);
  const moved = await commit(remote.path, 'README.md', '# upstream/api, moved on\n');

  const refused = new RegExp(
    `^${PREFIX}repo api: ref main is at ${moved}, but the branch builder/platform-billing, kept from an earlier session of this project, is based on ${remote.first}, so it does not start from main; .*` +
      `To go on with that branch, open the session without a ref \\(or with ref ${remote.first}\\); ` +
      `to start from main, have an operator delete builder/platform-billing from the gateway's clone of api`,
  );
  const failsFor = async (why: string): Promise<void> => {
    const id = await open(gateway, 'billing', api('main'));
    const view = await waitForSessionStatus<View>(call, gateway, id, 'failed');
    t.regex(view.error ?? '', refused, why);
    const failures = (await streamOf(gateway, `session-${id}`)).filter((item) => item.type === 'WorkspaceFailed');
    t.is(failures.length, 1, why);
    t.notRegex(failures[0]!.data.reason ?? '', /tried \d+ times/, `${why}: failed at once, not retried`);
    await builderFree(gateway, 'platform-billing');
  };

  await failsFor('the branch without a worktree');
  t.false(existsSync(first.repos[0]!.worktree_path!), 'the refused session added no worktree');

  const again = await waitForSessionStatus<View>(
    call,
    gateway,
    await open(gateway, 'billing', api(remote.first)),
    'awaiting_route',
  );
  t.is(again.repos[0]!.base_commit, remote.first, 'with the branch’s base as the ref, the branch goes on');
  await close(t, gateway, again, false);

  await failsFor('the branch checked out in the kept worktree');
  const without = await waitForSessionStatus<View>(
    call,
    gateway,
    await open(gateway, 'billing', api()),
    'awaiting_route',
  );
  t.like(without.repos[0], { branch: 'builder/platform-billing', base_commit: remote.first });
  t.is(
    await readFile(join(without.repos[0]!.worktree_path!, 'README.md'), 'utf8'),
    '# upstream/api\n',
    'without a ref the kept branch goes on, as it is',
  );
});

type ServerMode = 'serve' | 'fail' | 'trickle';

/**
 * A git server over the dumb HTTP protocol (the static files of a bare repository) that wants
 * Basic authentication as `user:password`; in `fail` mode it answers 500, in `trickle` mode it
 * sends one byte of a never-ending answer every 100 ms.
 */
const serveRepository = async (t: ExecutionContext, bare: string, basic: string) => {
  const state = { mode: 'serve' as ServerMode, requests: 0, authorized: 0 };
  const trickles = new Set<NodeJS.Timeout>();
  const trickle = (response: ServerResponse): void => {
    response.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' }).write('fff0');
    const timer = setInterval(() => response.write('a'), 100);
    trickles.add(timer);
    response.on('close', () => clearInterval(timer));
  };
  const server = createServer((request, response) => {
    state.requests++;
    if (request.headers.authorization !== `Basic ${basic}`) {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
      return;
    }
    state.authorized++;
    if (state.mode === 'fail') return void response.writeHead(500).end();
    if (state.mode === 'trickle') return trickle(response);
    const path = new URL(request.url!, 'http://server').pathname.replace(/^\/private\.git\//, '');
    const file = resolve(bare, decodeURIComponent(path));
    if (!file.startsWith(`${bare}${sep}`)) return void response.writeHead(404).end();
    readFile(file).then(
      (body) => response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.teardown(() => {
    for (const timer of trickles) clearInterval(timer);
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as { port: number }).port, state };
};

test('over authenticated HTTP: the fetch carries the configured credentials; a fetch the server fails, or one past workspace.clone_timeout, fails the session at once saying so, and the clone still serves the next session', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'clone-fetch-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const source = await makeRepo(dir, 'source');
  const bare = join(dir, 'private.git');
  const publish = async (): Promise<string> => {
    await simpleGit(source).raw(['push', '-q', bare, 'main']);
    await simpleGit(bare).raw(['update-server-info']);
    return (await simpleGit(bare).revparse(['main'])).trim();
  };
  await simpleGit().raw(['init', '-q', '--bare', '-b', 'main', bare]);
  const first = await publish();
  const basic = Buffer.from('gateway-bot:fetch-password-4711').toString('base64');
  const { port, state } = await serveRepository(t, bare, basic);
  process.env['GIT_PASSWORD_FOR_FETCH_TEST'] = 'fetch-password-4711';
  t.teardown(() => delete process.env['GIT_PASSWORD_FOR_FETCH_TEST']);
  const timeoutS = 3;
  const gateway = await startTestGateway(t, {
    tokens: `ops:operator:${OPERATOR}`,
    workspace: {
      allowed_url_patterns: ['http://127.0.0.1:'],
      allow_private_addresses: true,
      clone_timeout: timeoutS,
      git_credentials: [
        { host: `127.0.0.1:${port}`, username: 'gateway-bot', password_env: 'GIT_PASSWORD_FOR_FETCH_TEST' },
      ],
    },
  });
  const url = `http://127.0.0.1:${port}/private.git`;
  const api = { name: 'api', url };
  const cloned = await waitForSessionStatus<View>(call, gateway, await open(gateway, 'one', api), 'awaiting_route');
  t.is(cloned.repos[0]!.base_commit, first);

  await commit(source, 'README.md', '# source, second\n');
  const second = await publish();
  state.requests = state.authorized = 0;
  const fetched = await waitForSessionStatus<View>(call, gateway, await open(gateway, 'two', api), 'awaiting_route');
  t.is(fetched.repos[0]!.base_commit, second, 'fetched through the authenticated server');
  t.true(
    state.requests > 0 && state.authorized === state.requests,
    'every request of the fetch carried the credentials',
  );

  const failsSaying = async (project: string, error: RegExp): Promise<{ output: string; tookMs: number }> => {
    const started = Date.now();
    const id = await open(gateway, project, api);
    const view = await waitForSessionStatus<View>(call, gateway, id, 'failed');
    t.regex(view.error ?? '', error);
    const failures = (await streamOf(gateway, `session-${id}`)).filter((item) => item.type === 'WorkspaceFailed');
    t.is(failures.length, 1);
    t.notRegex(failures[0]!.data.reason ?? '', /tried \d+ times/, 'failed at once, not retried');
    return { output: failures[0]!.data.output ?? '', tookMs: Date.now() - started };
  };
  const shown = url.replace(/\./g, '\\.');
  state.mode = 'fail';
  const failed = await failsSaying('three', new RegExp(`^${PREFIX}repo api: fetching ${shown} failed: .*500`));
  t.regex(failed.output, /500/, 'with git’s last lines');
  state.mode = 'trickle';
  const { tookMs } = await failsSaying(
    'four',
    new RegExp(
      `^${PREFIX}repo api: fetching ${shown} took longer than workspace.clone_timeout \\(${timeoutS} s\\): git was stopped$`,
    ),
  );
  t.true(tookMs >= timeoutS * 1000 && tookMs < timeoutS * 1000 + 5000, `failed after ${tookMs} ms`);

  state.mode = 'serve';
  const after = await waitForSessionStatus<View>(call, gateway, await open(gateway, 'five', api), 'awaiting_route');
  t.is(after.repos[0]!.base_commit, second, 'the failed fetches left the clone whole');
});
