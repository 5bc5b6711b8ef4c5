import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { testContext } from '../support/test-store.js';
import { makeRepo, startTestGateway, type TestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const call = caller(OPERATOR);

type View = {
  session_id: string;
  status: string;
  repos: { name: string; url: string | null; worktree_path: string | null }[];
};
type Problem = { status: number; detail: string; errors: { path: string; message: string }[] };
type AuditItem = { type: string; data: Record<string, unknown> };

const session = (project: string, repos: readonly { name: string; url?: string }[]) => ({
  category: 'platform',
  project,
  repos,
  task: { title: 'Improve things', description: 'Please have a look.' },
});

const start = (t: ExecutionContext): Promise<TestGateway> =>
  startTestGateway(t, { tokens: `ops:operator:${OPERATOR}`, repos: ['api'] });

const eventCount = async (gateway: TestGateway): Promise<number> =>
  ((await (await call(gateway, 'GET', '/api/audit/events?limit=500')).json()) as { items: unknown[] }).items.length;

const streamOf = async (gateway: TestGateway, sessionId: string): Promise<AuditItem[]> =>
  ((await (await call(gateway, 'GET', `/api/audit/streams/session-${sessionId}`)).json()) as { items: AuditItem[] })
    .items;

test('URLs outside the policy are 400 naming repos[i].url with the reason, and nothing is appended or fetched', async (t) => {
  const gateway = await start(t);
  // A server on the gateway's own machine: the SSRF target. It must never be asked anything.
  let requests = 0;
  const target = createServer((_request, response) => {
    requests++;
    response.end();
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  t.teardown(() => target.close());
  const port = (target.address() as { port: number }).port;
  const before = await eventCount(gateway);
  const cases: readonly [string, RegExp][] = [
    ['file:///etc', /\/etc is not under workspace.repos_root/],
    ['/etc', /\/etc is not under workspace.repos_root/],
    [`file://${join(gateway.reposRoot, '..', 'events')}`, /not under workspace.repos_root/],
    ['../x', /relative path/],
    ['http://127.0.0.1:1/x.git', /allowed_url_patterns/],
    [`https://127.0.0.1:${port}/x.git`, /127.0.0.1 is a loopback address/],
    ['https://localhost/x.git', /localhost resolves to 127.0.0.1, a loopback address/],
    ['https://10.0.0.1/x.git', /10.0.0.1 is a private address/],
    ['https://169.254.169.254/latest/meta-data', /link-local/],
    ['https://[::1]/x.git', /\[::1\] is a loopback address/],
    ['https://[::ffff:127.0.0.1]/x.git', /loopback/],
    ['https://0x7f.1/x.git', /127.0.0.1 is a loopback address/],
    ['git://host.example/x', /git:\/\/ transport is not allowed/],
    ['ext::sh -c touch% /tmp/pwned', /remote helpers \(ext::\) are not allowed/],
    ['https://no-such-host.invalid/x.git', /does not resolve/],
  ];
  for (const [url, reason] of cases) {
    const response = await call(gateway, 'POST', '/api/sessions', session('billing', [{ name: 'api', url }]));
    t.is(response.status, 400, url);
    t.regex(response.headers.get('content-type') ?? '', /^application\/problem\+json/, url);
    const problem = (await response.json()) as Problem;
    t.is(problem.errors.length, 1, url);
    t.is(problem.errors[0]!.path, 'repos[0].url', url);
    t.regex(problem.errors[0]!.message, reason, url);
  }
  // Every bad URL of one request is named at once.
  const several = (await (
    await call(
      gateway,
      'POST',
      '/api/sessions',
      session('billing', [{ name: 'api' }, { name: 'web', url: '/etc' }, { name: 'ops', url: 'git://h/x' }]),
    )
  ).json()) as Problem;
  t.deepEqual(
    several.errors.map((error) => error.path),
    ['repos[1].url', 'repos[2].url'],
  );
  await makeRepo(gateway.reposRoot, 'upstream/alpha');
  const alpha = join(gateway.reposRoot, 'upstream', 'alpha');
  const twice = (await (
    await call(
      gateway,
      'POST',
      '/api/sessions',
      session('billing', [
        { name: 'api', url: alpha },
        { name: 'web', url: `file://${alpha}` },
      ]),
    )
  ).json()) as Problem;
  t.deepEqual(twice.errors, [{ path: 'repos[1].url', message: 'the same repository as repos[0]' }]);
  t.is(await eventCount(gateway), before, 'nothing was appended');
  t.deepEqual(((await (await call(gateway, 'GET', '/api/sessions')).json()) as { items: unknown[] }).items, []);
  t.is(requests, 0, 'the gateway never requested itself');
});

test('a clone belongs to its repository: two projects naming different repositories "api" each get their own, and a URL never takes the pre-provisioned clone of that name', async (t) => {
  const gateway = await start(t);
  await makeRepo(gateway.reposRoot, 'upstream/alpha');
  await makeRepo(gateway.reposRoot, 'upstream/beta');
  const alpha = `file://${join(gateway.reposRoot, 'upstream', 'alpha')}`;
  const beta = join(gateway.reposRoot, 'upstream', 'beta'); // a local path works as a file:// URL does
  const views: View[] = [];
  for (const [project, url] of [
    ['one', alpha],
    ['two', beta],
    ['three', undefined],
  ] as const) {
    const response = await call(
      gateway,
      'POST',
      '/api/sessions',
      session(project, [{ name: 'api', ...(url === undefined ? {} : { url }) }]),
    );
    t.is(response.status, 202);
    const created = (await response.json()) as View;
    t.is(created.repos[0]!.url, url ?? null, 'the view shows the URL asked for');
    views.push(await waitForSessionStatus<View>(call, gateway, created.session_id, 'awaiting_route'));
  }
  const readmes = await Promise.all(
    views.map((view) => readFile(join(view.repos[0]!.worktree_path!, 'README.md'), 'utf8')),
  );
  t.deepEqual(
    readmes,
    ['# upstream/alpha\n', '# upstream/beta\n', '# api\n'],
    "each worktree holds its own repository's content",
  );
  t.true(existsSync(join(gateway.reposRoot, '_clones', '_local', 'upstream', 'alpha.git', '.git')));
  t.true(existsSync(join(gateway.reposRoot, '_clones', '_local', 'upstream', 'beta.git', '.git')));

  // Closing with remove_workspace finds the worktree's own repository, the clone by URL.
  t.is(
    (await call(gateway, 'POST', `/api/sessions/${views[0]!.session_id}/close`, { remove_workspace: true })).status,
    202,
  );
  const clone = simpleGit(join(gateway.reposRoot, '_clones', '_local', 'upstream', 'alpha.git'));
  for (let i = 0; i < 200 && existsSync(views[0]!.repos[0]!.worktree_path!); i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  t.false(existsSync(views[0]!.repos[0]!.worktree_path!));
  t.false(
    (await clone.raw(['worktree', 'list', '--porcelain'])).includes(views[0]!.repos[0]!.worktree_path!),
    'git forgot the worktree',
  );
});

test('the policy is checked again right before cloning: a URL that got past the request (an older event) fails the workspace with the reason', async (t) => {
  const gateway = await start(t);
  for (const [id, url, reason] of [
    ['old-local', 'file:///etc', /repo api \(file:\/\/\/etc\) is refused: \/etc is not under workspace.repos_root/],
    [
      'old-dns',
      'https://user:old-secret@no-such-host.invalid/x.git',
      /repo api \(https:\/\/no-such-host.invalid\/x.git\) is refused: the host no-such-host.invalid does not resolve/,
    ],
  ] as const) {
    await gateway.eventLog.append(
      `session-${id}`,
      [
        {
          type: 'SessionCreated',
          data: {
            session_id: id,
            category: 'platform',
            project: id,
            repos: [{ name: 'api', url, ref: null }],
            task: { title: 't', description: '' },
            requested_by: null,
            created_at: new Date().toISOString(),
          },
        },
      ],
      { expectedRevision: 'no_stream', context: testContext() },
    );
    await waitForSessionStatus(call, gateway, id, 'failed');
    const failed = (await streamOf(gateway, id)).find((event) => event.type === 'WorkspaceFailed');
    t.regex(String(failed?.data['reason']), reason);
    t.false(JSON.stringify(failed).includes('old-secret'));
  }
});
