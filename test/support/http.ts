import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { ExecutionContext } from 'ava';
import type Koa from 'koa';
import type { Context, Next } from 'koa';
import { ProblemError } from '../../src/api/problem.js';

/** Serves a Koa app on 127.0.0.1 on a free port until the test ends; returns its base URL. */
export const serve = async (t: ExecutionContext, app: Koa): Promise<{ url: string; server: Server }> => {
  const handle = app.callback();
  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server };
};

/**
 * A stand-in for the gateway's error middleware in tests of pieces that throw ProblemError:
 * problem+json with the error's headers; anything else a bare 500.
 */
export const problemMiddleware = async (ctx: Context, next: Next): Promise<void> => {
  try {
    await next();
  } catch (error) {
    if (error instanceof ProblemError) {
      ctx.status = error.status;
      ctx.set(error.headers);
      ctx.body = error.toDocument();
      ctx.type = 'application/problem+json';
      return;
    }
    ctx.status = 500;
    ctx.type = 'application/problem+json';
    ctx.body = { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'internal error' };
  }
};
