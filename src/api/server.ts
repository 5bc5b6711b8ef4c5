import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
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
  const handle = app.callback();
  // Koa answers its own errors (ctx.onerror): nothing is left for the promise to report.
  const server = createServer((request, response) => void handle(request, response));
  // Slack retries after 3 s; a stuck client must not hold a socket forever either.
  server.on('clientError', answerClientError);
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  // Longer than a proxy's or client's idle timeout (nginx 60 s): the side that closes an idle
  // keep-alive connection must be the client, or a request sent as the server closes it is reset.
  // (A busy event loop made that race common at Node's 5 s: ECONNRESET under load.)
  server.keepAliveTimeout = 65_000;
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

/**
 * What Node's parser refuses before the app sees it (a malformed request line, headers over
 * 16 KiB, a timeout) is answered as every other error is: a problem document, then the close.
 */
const answerClientError = (error: Error & { code?: string }, socket: Duplex): void => {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, title] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : [400, 'Bad Request'];
  const body = JSON.stringify({
    type: 'about:blank',
    title,
    status,
    detail: status === 400 ? 'the request is not valid HTTP' : title.toLowerCase(),
  });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
};
