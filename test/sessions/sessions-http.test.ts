import test, { type ExecutionContext } from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import type { Gateway } from '../../src/composition.js';
import { sessionStream } from '../../src/sessions/events.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';

const start = (t: ExecutionContext): Promise<TestGateway> =>
  startTestGateway(t, { tokens: `slack:operator:${OPERATOR},grafana:viewer:${VIEWER}`, repos: ['api', 'web'] });

const call = caller(OPERATOR);

const newSession = (
  title = 'Fix typo in the footer',
  description = 'Small fix, the footer says Copyrigth.',
  project = 'billing',
) => ({
  category: 'platform',
  project,
  repos: [{ name: 'api', ref: 'main' }, { name: 'web' }],
  task: { title, description },
  requested_by: { user: 'U1', channel: 'C1', thread_ts: '1700000000.1' },
});

const waitForStatus = (gateway: Gateway, sessionId: string, status: string): Promise<View> =>
  waitForSessionStatus<View>(call, gateway, sessionId, status);

type View = {
  session_id: string;
  status: string;
  revision: number;
  route: { suggested: string; confirmed: string | null; confirmed_by: string | null };
  repos: { name: string; url: string | null; ref: string | null; branch: string | null }[];
};

test('POST /api/sessions answers 202 with the view, its ETag and Location; a low-confidence route waits for a person', async (t) => {
  const gateway = await start(t);
  const response = await call(
    gateway,
    'POST',
    '/api/sessions',
    newSession('Improve things', 'Please have a look at this.'),
  );
  t.is(response.status, 202);
  const view = (await response.json()) as View;
  t.is(response.headers.get('etag'), `"${view.revision}"`);
  t.is(response.headers.get('location'), `/api/sessions/${view.session_id}`);
  t.like(view, { route: { suggested: 'party-mode', confirmed: null } });
  t.true(['initializing', 'awaiting_route'].includes(view.status));
  t.deepEqual(
    view.repos.map((repo) => [repo.name, repo.url, repo.ref]),
    [
      ['api', null, 'main'],
      ['web', null, null],
    ],
  );
  const waiting = await waitForStatus(gateway, view.session_id, 'awaiting_route');
  t.deepEqual(
    waiting.repos.map((repo) => [repo.name, repo.branch]),
    [
      ['api', 'builder/platform-billing'],
      ['web', 'builder/platform-billing'],
    ],
    'the workspace manager made the worktrees',
  );
  const fetched = await call(gateway, 'GET', `/api/sessions/${view.session_id}`, undefined, {}, VIEWER);
  t.is(fetched.status, 200);
  t.is(fetched.headers.get('etag'), `"${waiting.revision}"`);
});

test('a confident route is confirmed by the gateway itself; the session is active once its workspace is ready', async (t) => {
  const gateway = await start(t);
  const view = (await (
    await call(
      gateway,
      'POST',
      '/api/sessions',
      newSession('Threat model and encryption for SSO', 'Security review of the OAuth authentication flow.'),
    )
  ).json()) as View;
  t.like(view.route, { suggested: 'architect', confirmed: 'architect', confirmed_by: 'gateway' });
  await waitForStatus(gateway, view.session_id, 'active');
  t.pass();
});

test('every invalid field of a new session is named', async (t) => {
  const gateway = await start(t);
  const response = await call(gateway, 'POST', '/api/sessions', {
    category: 'Platform_X',
    project: 'p'.repeat(41),
    repos: [],
    task: { title: '', description: 5 },
  });
  t.is(response.status, 400);
  const problem = (await response.json()) as { errors: { path: string; message: string }[] };
  t.deepEqual(problem.errors.map((error) => error.path).sort(), [
    'category',
    'project',
    'repos',
    'task.description',
    'task.title',
  ]);
  const twice = await call(gateway, 'POST', '/api/sessions', {
    ...newSession(),
    repos: [{ name: 'api' }, { name: 'web' }, { name: 'api' }],
  });
  t.is(twice.status, 400);
  t.deepEqual(((await twice.json()) as { errors: { path: string; message: string }[] }).errors, [
    { path: 'repos[2].name', message: 'repo api is listed twice' },
  ]);
  const list = (await (await call(gateway, 'GET', '/api/sessions')).json()) as { items: unknown[] };
  t.deepEqual(list.items, [], 'nothing was created');
});

test('route, messages, pause, resume and close follow the status machine; wrong states are 409 naming the state', async (t) => {
  const gateway = await start(t);
  const view = (await (
    await call(gateway, 'POST', '/api/sessions', newSession('Improve things', 'Please have a look.'))
  ).json()) as View;
  const id = view.session_id;
  await waitForStatus(gateway, id, 'awaiting_route');
  const early = await call(gateway, 'POST', `/api/sessions/${id}/messages`, { text: 'hello' });
  t.is(early.status, 409);
  t.regex(((await early.json()) as { detail: string }).detail, /the session is awaiting_route/);
  const routed = await call(gateway, 'POST', `/api/sessions/${id}/route`, { route: 'builder', confirmed_by: 'ann' });
  t.is(routed.status, 202);
  t.like((await routed.json()) as View, { status: 'active', route: { confirmed: 'builder', confirmed_by: 'ann' } });
  t.is((await call(gateway, 'POST', `/api/sessions/${id}/route`, { route: 'pm' })).status, 409);
  const sent = await call(gateway, 'POST', `/api/sessions/${id}/messages`, {
    text: 'Please also fix the header',
    from: 'ann',
  });
  t.is(sent.status, 202);
  const { message_id } = (await sent.json()) as { message_id: string };
  const messages = (await (
    await call(gateway, 'GET', `/api/sessions/${id}/messages`, undefined, {}, VIEWER)
  ).json()) as {
    items: { message_id: string; role: string; text: string; from: string }[];
    next_cursor: string | null;
  };
  t.like(messages.items[0], { message_id, role: 'user', text: 'Please also fix the header', from: 'ann' });
  t.is(messages.next_cursor, null);
  t.like((await (await call(gateway, 'POST', `/api/sessions/${id}/pause`)).json()) as View, { status: 'paused' });
  t.is((await call(gateway, 'POST', `/api/sessions/${id}/pause`)).status, 409);
  t.like((await (await call(gateway, 'POST', `/api/sessions/${id}/resume`)).json()) as View, { status: 'active' });
  t.like((await (await call(gateway, 'POST', `/api/sessions/${id}/close`, { reason: 'done' })).json()) as View, {
    status: 'closed',
  });
  const again = await call(gateway, 'POST', `/api/sessions/${id}/close`, {});
  t.is(again.status, 409);
  t.regex(((await again.json()) as { detail: string }).detail, /the session is closed/);
});

test('unknown sessions are 404 for reads and commands; viewers may read but not command', async (t) => {
  const gateway = await start(t);
  for (const [method, path] of [
    ['GET', '/api/sessions/nope'],
    ['POST', '/api/sessions/nope/pause'],
    ['GET', '/api/sessions/nope/messages'],
  ] as const) {
    t.is((await call(gateway, method, path)).status, 404, `${method} ${path}`);
  }
  t.is((await call(gateway, 'POST', '/api/sessions', newSession(), {}, VIEWER)).status, 403);
});

test('If-Match: a stale revision is 412 and changes nothing; two concurrent confirms at one revision, exactly one wins', async (t) => {
  const gateway = await start(t);
  const created = (await (
    await call(gateway, 'POST', '/api/sessions', newSession('Improve things', 'Please have a look.'))
  ).json()) as View;
  const view = await waitForStatus(gateway, created.session_id, 'awaiting_route');
  const stale = await call(
    gateway,
    'POST',
    `/api/sessions/${view.session_id}/route`,
    { route: 'pm' },
    { 'if-match': `"${view.revision - 1}"` },
  );
  t.is(stale.status, 412);
  const results = await Promise.all(
    (['pm', 'architect'] as const).map((route) =>
      call(gateway, 'POST', `/api/sessions/${view.session_id}/route`, { route }, { 'if-match': `"${view.revision}"` }),
    ),
  );
  t.deepEqual(results.map((response) => response.status).sort(), [202, 412]);
  const after = (await (await call(gateway, 'GET', `/api/sessions/${view.session_id}`)).json()) as View;
  t.is(after.revision, view.revision + 1);
});

test('a burst of the same Idempotency-Key creates one session and answers the same each time', async (t) => {
  const gateway = await start(t);
  const responses = await Promise.all(
    Array.from({ length: 5 }, () =>
      call(gateway, 'POST', '/api/sessions', newSession(), { 'idempotency-key': 'slack-evt-1' }),
    ),
  );
  const bodies = await Promise.all(responses.map((response) => response.json() as Promise<View>));
  t.deepEqual(new Set(responses.map((response) => response.status)), new Set([202]));
  t.is(new Set(bodies.map((body) => body.session_id)).size, 1);
  const list = (await (await call(gateway, 'GET', '/api/sessions')).json()) as { items: View[] };
  t.is(list.items.length, 1);
  const other = await call(gateway, 'POST', '/api/sessions', newSession('Another task'), {
    'idempotency-key': 'slack-evt-1',
  });
  t.is(other.status, 422);
});

test('the list filters by status (active = not closed or failed), category and project, and pages with a cursor', async (t) => {
  const gateway = await start(t);
  const ids: string[] = [];
  for (const project of ['a', 'b', 'c'])
    ids.push(
      (
        (await (
          await call(gateway, 'POST', '/api/sessions', newSession('Improve things', 'Look.', project))
        ).json()) as View
      ).session_id,
    );
  await call(gateway, 'POST', `/api/sessions/${ids[2]}/close`, {});
  const active = (await (await call(gateway, 'GET', '/api/sessions?status=active')).json()) as { items: View[] };
  t.deepEqual(active.items.map((item) => item.session_id).sort(), [ids[0], ids[1]].sort());
  const closed = (await (await call(gateway, 'GET', '/api/sessions?status=closed&category=platform')).json()) as {
    items: View[];
  };
  t.deepEqual(
    closed.items.map((item) => item.session_id),
    [ids[2]],
  );
  const first = (await (await call(gateway, 'GET', '/api/sessions?limit=2')).json()) as {
    items: View[];
    next_cursor: string;
  };
  t.is(first.items.length, 2);
  const second = (await (await call(gateway, 'GET', `/api/sessions?limit=2&cursor=${first.next_cursor}`)).json()) as {
    items: View[];
    next_cursor: string | null;
  };
  t.is(second.items.length, 1);
  t.is(second.next_cursor as string | null, null);
  t.is((await call(gateway, 'GET', '/api/sessions?status=sleeping')).status, 400);
});

test('as_of shows the view as it stood at a position or a time', async (t) => {
  const gateway = await start(t);
  const view = (await (
    await call(gateway, 'POST', '/api/sessions', newSession('Improve things', 'Look.'))
  ).json()) as View;
  const [created] = await gateway.eventLog.readStream(sessionStream(view.session_id));
  await waitForStatus(gateway, view.session_id, 'awaiting_route');
  await new Promise((resolve) => setTimeout(resolve, 5));
  const between = new Date().toISOString();
  await call(gateway, 'POST', `/api/sessions/${view.session_id}/close`, {});
  const atCreation = (await (
    await call(gateway, 'GET', `/api/sessions/${view.session_id}?as_of=${created!.position}`)
  ).json()) as View;
  t.is(atCreation.revision, 0);
  t.is(atCreation.route.suggested as string | null, null, 'the suggestion came after creation');
  const beforeClose = (await (
    await call(gateway, 'GET', `/api/sessions/${view.session_id}?as_of=${between}`)
  ).json()) as View;
  t.is(beforeClose.status, 'awaiting_route');
  t.is(((await (await call(gateway, 'GET', `/api/sessions/${view.session_id}`)).json()) as View).status, 'closed');
  t.is((await call(gateway, 'GET', `/api/sessions/${view.session_id}?as_of=yesterday`)).status, 400);
});

test('closing with remove_workspace removes the worktrees and the folder; without it they stay', async (t) => {
  const gateway = await start(t);
  const kept = (await (
    await call(gateway, 'POST', '/api/sessions', newSession('Improve things', 'Look.', 'kept'))
  ).json()) as View;
  const removed = (await (
    await call(gateway, 'POST', '/api/sessions', newSession('Improve things', 'Look.', 'gone'))
  ).json()) as View;
  const keptView = await waitForStatus(gateway, kept.session_id, 'awaiting_route');
  const goneView = await waitForStatus(gateway, removed.session_id, 'awaiting_route');
  const keptPath = (keptView as unknown as { workspace_path: string }).workspace_path;
  const gonePath = (goneView as unknown as { workspace_path: string }).workspace_path;
  await call(gateway, 'POST', `/api/sessions/${kept.session_id}/close`, {});
  await call(gateway, 'POST', `/api/sessions/${removed.session_id}/close`, { remove_workspace: true });
  for (let i = 0; i < 300 && existsSync(gonePath); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.false(existsSync(gonePath), 'the removed workspace is gone');
  t.true(existsSync(keptPath), 'the other stays');
  const worktrees = await simpleGit(join(gateway.reposRoot, 'api')).raw(['worktree', 'list', '--porcelain']);
  t.false(worktrees.includes(gonePath), 'git forgot the removed worktree');
  t.true(worktrees.includes(keptPath));
  const stateFile = join(keptPath, '.session-state.yaml');
  let state = '';
  for (let i = 0; i < 300 && !state.includes('status: closed'); i++) {
    state = existsSync(stateFile) ? readFileSync(stateFile, 'utf8') : '';
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.regex(state, /status: closed/, 'the state file mirrors the session');
  t.regex(state, new RegExp(`session_id: ${kept.session_id}`));
  t.true(existsSync(join(keptPath, 'arch-decisions.md')));
});
