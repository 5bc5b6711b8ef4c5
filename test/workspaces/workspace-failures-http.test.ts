import test, { type ExecutionContext } from 'ava';
import { createServer } from 'node:net';
import { eventually } from '../support/eventually.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { connectSse } from '../support/sse-client.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

/**
 * A workspace that cannot be made fails its session, and the person sees why: the view's
 * `error` (in GET and in the list), a `status` event on the session's SSE, and the builder free
 * for the next session of the project.
 */
const OPERATOR = 'operator-token-0123456789';
const call = caller(OPERATOR);

type View = { session_id: string; status: string; error: string | null };

const session = (repo: { name: string; url?: string; ref?: string }) => ({
  category: 'platform',
  project: 'billing',
  repos: [repo],
  task: { title: 'Improve things', description: 'Please have a look.' },
});

/** A port on 127.0.0.1 that nothing listens on: taken from the system, then let go. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

/** Creates the session, and checks everything a person looks at once its workspace failed. */
const failsSaying = async (
  t: ExecutionContext,
  gateway: TestGateway,
  repo: { name: string; url?: string; ref?: string },
  error: RegExp,
): Promise<void> => {
  const created = await call(gateway, 'POST', '/api/sessions', session(repo));
  t.is(created.status, 202, 'the request itself is fine: what it names is found wrong only when the workspace is made');
  const { session_id: id } = (await created.json()) as View;
  const events = await connectSse(`${gateway.url}/api/sessions/${id}/events`, OPERATOR);
  t.teardown(() => events.close());

  const view = await waitForSessionStatus<View>(call, gateway, id, 'failed');
  t.regex(view.error ?? '', error, 'GET /api/sessions/{id} says why');
  const listed = ((await (await call(gateway, 'GET', '/api/sessions?status=failed')).json()) as { items: View[] })
    .items;
  t.deepEqual(
    listed.map(({ session_id, status, error }) => ({ session_id, status, error })),
    [{ session_id: id, status: 'failed', error: view.error }],
    'the list shows it failed, and why',
  );
  const failed = await eventually(
    () =>
      events.frames.find(
        (frame) =>
          frame.event === 'status' && (JSON.parse(frame.data ?? '{}') as { status?: string }).status === 'failed',
      ),
    'a status event saying the session failed',
  );
  t.deepEqual(JSON.parse(failed.data!), { status: 'failed', agent_status: 'idle', error: view.error });

  // The builder is released by its own process manager, just after the failure: the next session of the project is accepted.
  const next = await eventually(async () => {
    const response = await call(gateway, 'POST', '/api/sessions', session({ name: 'api' }));
    return response.status === 202 ? ((await response.json()) as View) : undefined;
  }, 'a new session for the same project accepted');
  t.is(
    (await waitForSessionStatus<View>(call, gateway, next.session_id, 'awaiting_route')).error,
    null,
    'and it works',
  );
};

test('a ref that does not exist fails the session at once, naming the ref and the repo', async (t) => {
  const gateway = await startTestGateway(t, { tokens: `ops:operator:${OPERATOR}`, repos: ['api'] });
  await failsSaying(
    t,
    gateway,
    { name: 'api', ref: 'develop' },
    /^The workspace could not be prepared: ref develop does not exist in repo api$/,
  );
});

test('a repository that cannot be reached fails the session at once, naming the repo, its URL and what git said', async (t) => {
  const gateway = await startTestGateway(t, {
    tokens: `ops:operator:${OPERATOR}`,
    repos: ['api'],
    workspace: { allow_private_addresses: true },
  });
  const url = `https://127.0.0.1:${await closedPort()}/platform/web.git`;
  await failsSaying(
    t,
    gateway,
    { name: 'web', url },
    new RegExp(
      `^The workspace could not be prepared: repo web: cloning ${url.replace(/\./g, '\\.')} failed: .*(Failed to connect|Connection refused|Couldn't connect)`,
    ),
  );
});
