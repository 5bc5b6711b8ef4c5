import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';

export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  /**
   * Stops accepting connections, lets in-flight requests finish (up to `graceMs`, then cuts
   * what is left), after `beforeDrain` has ended long-lived responses such as SSE streams.
   */
  close(options?: { graceMs?: number; beforeDrain?: () => void }): Promise<void>;
}

export const startServer = async (app: Koa, options: { host: string; port: number }): Promise<RunningServer> => {
  const server = createServer(app.callback());
  // Slack retries after 3 s; a stuck client must not hold a socket forever either.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: ({ graceMs = 10_000, beforeDrain } = {}) =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        beforeDrain?.();
        server.closeIdleConnections();
        const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
        const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
        server.once('close', () => {
          clearInterval(idleSweep);
          clearTimeout(deadline);
        });
      })),
  };
};
