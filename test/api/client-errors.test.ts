import test from 'ava';
import { connect } from 'node:net';
import Koa from 'koa';
import { startServer } from '../../src/api/server.js';

/** Bytes straight onto a socket, and whatever comes back before the server closes it. */
const exchange = (url: string, bytes: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });

test('what Node’s HTTP parser refuses is answered as a problem document too', async (t) => {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  const server = await startServer(app, { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  const garbage = await exchange(server.url, 'NOT HTTP AT ALL\r\n\r\n');
  t.regex(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/);
  t.regex(garbage, /Content-Type: application\/problem\+json/);
  t.like(JSON.parse(garbage.split('\r\n\r\n')[1]!), { status: 400, title: 'Bad Request' });
  const huge = await exchange(server.url, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
  t.regex(huge, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  t.like(JSON.parse(huge.split('\r\n\r\n')[1]!), { status: 431 });
});
