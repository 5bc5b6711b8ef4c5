import test from 'ava';
import { createServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { until } from '../support/eventually.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const call = caller(OPERATOR);
const CLONE_TIMEOUT_S = 2;

type View = { session_id: string; status: string };

test('a server that trickles bytes forever holds a clone only until workspace.clone_timeout: git and its children are stopped and the workspace fails saying so', async (t) => {
  // The tarpit: answers at once, then sends one byte of a never-ending pkt-line every 100 ms.
  const sockets = new Set<Socket>();
  const trickles = new Set<NodeJS.Timeout>();
  let bytesSent = 0;
  const tarpit = createServer((_request, response: ServerResponse) => {
    sockets.add(response.socket!);
    response.socket!.on('close', () => sockets.delete(response.socket!));
    response.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' });
    response.write('fff0');
    const trickle = setInterval(() => {
      bytesSent++;
      response.write('a');
    }, 100);
    trickles.add(trickle);
    response.on('close', () => clearInterval(trickle));
  });
  await new Promise<void>((resolve) => tarpit.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const trickle of trickles) clearInterval(trickle);
    tarpit.closeAllConnections();
    tarpit.close();
  });
  const port = (tarpit.address() as { port: number }).port;
  // This test allows a loopback http URL on purpose: the tarpit runs here.
  const gateway = await startTestGateway(t, {
    tokens: `ops:operator:${OPERATOR}`,
    repos: ['api'],
    workspace: {
      allowed_url_patterns: ['http://127.0.0.1:'],
      allow_private_addresses: true,
      clone_timeout: CLONE_TIMEOUT_S,
    },
  });

  const started = Date.now();
  const slow = (await (
    await call(gateway, 'POST', '/api/sessions', {
      category: 'platform',
      project: 'slow',
      repos: [{ name: 'api', url: `http://127.0.0.1:${port}/slow.git` }],
      task: { title: 'Improve things', description: 'Please have a look.' },
    })
  ).json()) as View;
  // Another project's workspace waits behind it, but not for long.
  const other = (await (
    await call(gateway, 'POST', '/api/sessions', {
      category: 'platform',
      project: 'other',
      repos: [{ name: 'api' }],
      task: { title: 'Improve things', description: 'Please have a look.' },
    })
  ).json()) as View;

  await waitForSessionStatus(call, gateway, slow.session_id, 'failed');
  const failedAfterMs = Date.now() - started;
  t.true(failedAfterMs >= CLONE_TIMEOUT_S * 1000, `failed after ${failedAfterMs} ms`);
  t.true(
    failedAfterMs < CLONE_TIMEOUT_S * 1000 + 5000,
    `failed after ${failedAfterMs} ms, within the timeout and a margin`,
  );
  t.true(bytesSent >= 10, `the tarpit kept sending (${bytesSent} bytes): an idle timeout would never have fired`);
  const events = (
    (await (await call(gateway, 'GET', `/api/audit/streams/session-${slow.session_id}`)).json()) as {
      items: { type: string; data: { reason?: string } }[];
    }
  ).items;
  t.regex(
    events.find((event) => event.type === 'WorkspaceFailed')?.data.reason ?? '',
    new RegExp(
      `cloning http://127.0.0.1:${port}/slow.git took longer than workspace.clone_timeout \\(${CLONE_TIMEOUT_S} s\\): git was stopped`,
    ),
  );

  // git's HTTP helper held the connection; once it is stopped for good the connection closes.
  await until(() => sockets.size === 0, 'the tarpit connection closed', 5000);
  const sentAtStop = bytesSent;
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.is(bytesSent, sentAtStop, 'nothing reads from the tarpit any more');

  const ready = await waitForSessionStatus<View>(call, gateway, other.session_id, 'awaiting_route');
  t.is(ready.status, 'awaiting_route');
  t.true(
    Date.now() - started < CLONE_TIMEOUT_S * 1000 + 8000,
    'the other workspace was held at most about the clone timeout',
  );
});
