import test from 'ava';
import { request } from 'node:http';
import Router from '@koa/router';
import pino from 'pino';
import { buildOpenApiDocument } from '../../src/openapi/document.js';
import { createApp } from '../../src/api/app.js';
import { GatewayMetrics } from '../../src/api/metrics.js';
import { startServer } from '../../src/api/server.js';

const appWith = (router: Router) =>
  createApp({
    openApiDocument: buildOpenApiDocument(),
    logger: pino({ level: 'silent' }),
    authenticate: () => undefined,
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    checks: {},
    corsOrigins: [],
    bodyLimitBytes: 1024,
    routers: [router],
  });

/** A request on its own connection (no keep-alive pool), resolving to status and body. */
const get = (url: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });

test('close() lets an in-flight request finish, refuses new connections, then resolves', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const inFlight = new Promise<void>((resolve) => (started = resolve));
  const router = new Router();
  router.get('/slow', async (ctx) => {
    started();
    await released;
    ctx.body = { finished: true };
  });
  const server = await startServer(appWith(router), { host: '127.0.0.1', port: 0 });
  const slow = get(`${server.url}/slow`);
  await inFlight;
  let closed = false;
  const closing = server.close({ graceMs: 5000 }).then(() => (closed = true));
  await t.throwsAsync(() => get(`${server.url}/health`), { code: 'ECONNREFUSED' });
  t.false(closed, 'close waits for the in-flight request');
  release();
  t.deepEqual(await slow, { status: 200, body: '{"finished":true}' });
  await closing;
  t.true(closed);
});

test('close() cuts a request that outlives the grace period', async (t) => {
  const router = new Router();
  router.get('/never', () => new Promise(() => {}));
  const server = await startServer(appWith(router), { host: '127.0.0.1', port: 0 });
  const stuck = get(`${server.url}/never`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await server.close({ graceMs: 100 });
  await t.throwsAsync(() => stuck, { message: /socket hang up|ECONNRESET/ });
});
