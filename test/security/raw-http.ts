import { connect } from 'node:net';

/**
 * A deliberately dumb HTTP/1.1 client over a bare socket. `fetch` and `node:http` refuse to send
 * much of what an attacker sends (latin-1 and control bytes in header values, a body without a
 * Content-Length, a Content-Length that lies), so the security tests write the bytes themselves.
 * One socket per request, nothing pooled between cases; the client closes it once the answer is
 * in. The connection is left keep-alive on purpose: a server that answers before reading a
 * body then reads and discards the rest instead of resetting a connection still being written,
 * a reset that would race the answer.
 */
export interface RawRequest {
  readonly method: string;
  /** The request target exactly as sent (already percent-encoded where it should be). */
  readonly target: string;
  /** Header lines in order; a Buffer value is sent byte for byte. */
  readonly headers?: readonly (readonly [string, string | Buffer])[];
  readonly body?: string | Buffer;
  /** `length` (default): a true Content-Length; `chunked`: Transfer-Encoding: chunked; `none`: the bytes with no framing at all. */
  readonly framing?: 'length' | 'chunked' | 'none';
}

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly text: string;
  /** The whole response head as received, for leak checks on header values. */
  readonly head: string;
}

export class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError';
}

const HEAD_END = Buffer.from('\r\n\r\n');

const decodeChunked = (body: Buffer): Buffer => {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) return Buffer.concat(parts);
    const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) return Buffer.concat(parts);
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
};

const parseHead = (head: string): { status: number; headers: Record<string, string> } => {
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status, headers };
};

/** The request's bytes: request line, Host, the given headers, framing, body. */
export const requestBytes = (host: string, request: RawRequest): Buffer => {
  const body =
    request.body === undefined
      ? undefined
      : Buffer.isBuffer(request.body)
        ? request.body
        : Buffer.from(request.body, 'utf8');
  const framing = request.framing ?? 'length';
  const lines: Buffer[] = [Buffer.from(`${request.method} ${request.target} HTTP/1.1\r\nHost: ${host}\r\n`, 'latin1')];
  for (const [name, value] of request.headers ?? [])
    lines.push(
      Buffer.concat([
        Buffer.from(`${name}: `, 'latin1'),
        Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'),
        Buffer.from('\r\n'),
      ]),
    );
  if (body !== undefined && framing === 'length') lines.push(Buffer.from(`Content-Length: ${body.length}\r\n`));
  if (body !== undefined && framing === 'chunked') lines.push(Buffer.from('Transfer-Encoding: chunked\r\n'));
  lines.push(Buffer.from('\r\n'));
  if (body !== undefined) {
    if (framing === 'chunked') {
      // Chunks of 64 KiB, as a streaming client would send them.
      for (let at = 0; at < body.length; at += 65_536) {
        const chunk = body.subarray(at, at + 65_536);
        lines.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
      }
      lines.push(Buffer.from('0\r\n\r\n'));
    } else {
      lines.push(body);
    }
  }
  return Buffer.concat(lines);
};

/**
 * Sends one request to `base` (`http://host:port`) and reads the answer. A response whose head
 * says `text/event-stream` is cut after the head (an SSE stream does not end by itself). A reset
 * after the head arrived (the server answered 413 and closed while the body was still being
 * written) still yields the answer; a reset or a silence before any answer is a NoAnswerError.
 */
export const sendRaw = (base: string, request: RawRequest, timeoutMs = 15_000): Promise<RawResponse> => {
  const url = new URL(base);
  const bytes = requestBytes(url.host, request);
  return new Promise<RawResponse>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const timer = setTimeout(
      () =>
        finish(
          new NoAnswerError(
            `no complete answer within ${timeoutMs} ms to ${request.method} ${request.target.slice(0, 200)}`,
          ),
        ),
      timeoutMs,
    );
    const finish = (error?: Error): void => {
      if (settled) return;
      const all = Buffer.concat(chunks, received);
      const headEnd = all.indexOf(HEAD_END);
      if (headEnd < 0) {
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(
          error ??
            new NoAnswerError(
              `the connection ended without an answer to ${request.method} ${request.target.slice(0, 200)}`,
            ),
        );
        return;
      }
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const head = all.subarray(0, headEnd).toString('latin1');
      const { status, headers } = parseHead(head);
      let body: Buffer = all.subarray(headEnd + 4);
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = decodeChunked(body);
      resolve({ status, headers, body, text: body.toString('utf8'), head });
    };
    /** Done once the head says SSE or no body can follow, or once the whole body is in. */
    const complete = (): boolean => {
      const all = Buffer.concat(chunks, received);
      const headEnd = all.indexOf(HEAD_END);
      if (headEnd < 0) return false;
      const { status, headers } = parseHead(all.subarray(0, headEnd).toString('latin1'));
      if (request.method === 'HEAD' || status === 204 || status === 304) return true;
      if ((headers['content-type'] ?? '').startsWith('text/event-stream')) return true;
      const body = all.subarray(headEnd + 4);
      if (/chunked/i.test(headers['transfer-encoding'] ?? ''))
        return body.subarray(-5).toString('latin1') === '0\r\n\r\n';
      const length = headers['content-length'];
      return length !== undefined && body.length >= Number(length);
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (complete()) finish();
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (error) => finish(error));
    // The head at once, then the body in slices, yielding between them: a server that answers
    // before reading the body (401, 413) is heard, and no more is written into a connection it
    // is closing (whose reset would otherwise race the answer).
    void (async () => {
      const headEnd = bytes.indexOf(HEAD_END) + 4;
      socket.write(bytes.subarray(0, headEnd));
      for (let at = headEnd; at < bytes.length && received === 0 && !socket.destroyed; at += 65_536) {
        await new Promise((resolve) => setImmediate(resolve));
        if (received === 0 && !socket.destroyed) socket.write(bytes.subarray(at, at + 65_536));
      }
    })();
  });
};

/** Opens a socket and writes `parts` with `gapMs` between them, then waits for the server to answer or close; for framing attacks. */
export const trickle = (
  base: string,
  parts: readonly (string | Buffer)[],
  gapMs: number,
  timeoutMs = 15_000,
): Promise<{ answer: string; closedByServer: boolean }> => {
  const url = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let answer = '';
    let done = false;
    const end = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ answer, closedByServer });
    };
    const timer = setTimeout(() => end(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => end(true));
    socket.on('error', () => end(true));
    void (async () => {
      for (const part of parts) {
        if (done || socket.destroyed) return;
        socket.write(part);
        await new Promise((wait) => setTimeout(wait, gapMs));
      }
    })();
  });
};
