import test from 'ava';
import { connect, type Socket } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayProcesses } from '../support/gateway-process.js';
import { sendRaw, trickle } from './raw-http.js';

/**
 * The real entry point (`npm start`) in a child process, under a burst of hostile raw HTTP:
 * malformed request lines, smuggling-style framing, header floods, slowloris connections that
 * never finish their head or their body, bodies over the limit without a Content-Length, and
 * many connections at once. Whatever Node or the gateway answer each, afterwards the process
 * still runs, `/health` answers and a valid command still works.
 */
const TOKEN = 'operator-token-0123456789';
const ANALYZE = JSON.stringify({ title: 'Add a pricing page', description: 'Plans and business rules.' });

/** Raw requests whose framing or syntax is broken; each is written on its own connection. */
const MALFORMED: readonly (string | Buffer)[] = [
  'GARBAGE\r\n\r\n',
  'GET / HTTP/9.9\r\n\r\n',
  'GET /health HTTP/1.1\r\nHost\r\n\r\n',
  'GET /health\r\n\r\n',
  'get /health http/1.1\r\n\r\n',
  'GET  /health  HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /health HTTP/1.1\nHost: x\n\n',
  'GET /he\x00alth HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /health HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n',
  'GET /health HTTP/1.1\r\nHost: x\r\n Folded: continuation\r\n\r\n',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  Buffer.from('16030100a5010000a10303', 'hex'),
  Buffer.from(Array.from({ length: 512 }, (_, index) => (index * 37) % 256)),
  `GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  `POST /api/routing/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  `POST /api/routing/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n{}`,
  `POST /api/routing/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}`,
  `POST /api/routing/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1e3\r\n\r\n{}`,
  `POST /api/routing/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999\r\n\r\n{}`,
  `POST /api/routing/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n`,
  `POST /api/routing/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked, identity\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
  `POST /api/routing/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{}\r\n`,
  // A smuggled second request behind a first one's body.
  `POST /api/routing/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}GET /api/sessions HTTP/1.1\r\nHost: x\r\n\r\n`,
  // Header floods: thousands of headers, one huge header, a head far past the limit.
  `GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 5_000 }, (_, index) => `X-H${index}: v`).join('\r\n')}\r\n\r\n`,
  `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
  `GET /api/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'t'.repeat(60_000)}\r\n\r\n`,
];

const open = (url: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const socket = connect(Number(target.port), target.hostname, () => resolve(socket));
    socket.on('error', reject);
  });

test('the real entry point survives a burst of hostile raw HTTP and still answers', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'security-process-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // The shipped configuration without agents: this test is about the HTTP edge.
  await writeFile(
    join(dir, 'backend.yaml'),
    (await readFile('config/backend.yaml', 'utf8')).replace(/enabled: true /, 'enabled: false'),
  );
  const gateway = await gatewayProcesses(t)({
    GATEWAY_CONFIG: join(dir, 'backend.yaml'),
    GATEWAY_DATA_DIR: dir,
    GATEWAY_WORKSPACE: dir,
    PORT: '0',
    GATEWAY_TOKENS: `ops:operator:${TOKEN}`,
    GATEWAY_BUNDLE_SECRET: 'bundle-secret-for-the-security-test',
  });
  const analyze = () =>
    sendRaw(gateway.url, {
      method: 'POST',
      target: '/api/routing/analyze',
      headers: [
        ['Authorization', `Bearer ${TOKEN}`],
        ['Content-Type', 'application/json'],
      ],
      body: ANALYZE,
    });
  t.is((await analyze()).status, 200, 'a valid command works before the attack');

  // Slowloris: connections that send a head, or a body, a byte at a time and never finish, held open through the rest of the attack.
  const slow = await Promise.all(Array.from({ length: 60 }, () => open(gateway.url)));
  slow.forEach((socket, index) => {
    socket.on('error', () => undefined);
    socket.write(
      index % 2 === 0
        ? 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: '
        : `POST /api/routing/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"title":"`,
    );
  });
  const drip = setInterval(() => slow.forEach((socket) => socket.writable && socket.write('a')), 200);
  t.teardown(() => {
    clearInterval(drip);
    slow.forEach((socket) => socket.destroy());
  });

  // Each malformed request on its own connection; whatever the answer, the connection ends.
  const answers = await Promise.all(MALFORMED.map((bytes) => trickle(gateway.url, [bytes], 0, 5_000)));
  t.log(
    `malformed requests answered: ${answers.map(({ answer }) => /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'closed').join(' ')}`,
  );
  t.false(
    answers.some(({ answer }) => /^HTTP\/1\.[01] 5\d\d/.test(answer)),
    'no malformed request gets a 5xx',
  );

  // A body over the limit without a Content-Length: chunked, 4 MiB, with and without a token.
  const huge = Buffer.alloc(4 * 1024 * 1024, 'a');
  const overLimit = await sendRaw(gateway.url, {
    method: 'POST',
    target: '/api/routing/analyze',
    headers: [
      ['Authorization', `Bearer ${TOKEN}`],
      ['Content-Type', 'application/json'],
    ],
    body: huge,
    framing: 'chunked',
  });
  t.is(overLimit.status, 413);
  t.is(
    (
      await sendRaw(gateway.url, {
        method: 'POST',
        target: '/api/sessions',
        headers: [['Content-Type', 'application/json']],
        body: huge,
        framing: 'chunked',
      })
    ).status,
    401,
  );
  // The same body with no framing at all (no Content-Length, no chunking): the server cannot know where it ends.
  await trickle(
    gateway.url,
    [
      `POST /api/routing/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n\r\n`,
      huge,
    ],
    0,
    5_000,
  );

  // Many connections at once, half of them left without a word.
  const burst = await Promise.allSettled(
    Array.from({ length: 300 }, (_, index) =>
      index % 2 === 0
        ? sendRaw(gateway.url, { method: 'GET', target: '/health' })
        : open(gateway.url).then((socket) => socket.destroy()),
    ),
  );
  t.false(
    burst.some(
      (result) =>
        result.status === 'fulfilled' &&
        typeof result.value === 'object' &&
        result.value !== null &&
        'status' in result.value &&
        result.value.status >= 500,
    ),
    'no 5xx in the burst',
  );

  // While the slow connections still hang on, the gateway answers.
  t.is(gateway.child.exitCode, null, 'the gateway process is still running');
  const health = await sendRaw(gateway.url, { method: 'GET', target: '/health' });
  t.is(health.status, 200);
  t.deepEqual(JSON.parse(health.text), { status: 'ok', version: '1.1.0' });
  t.is((await analyze()).status, 200, 'a valid command still works');
});
