import { request, type IncomingMessage } from 'node:http';
import { ContractViolationError, isExemptFromContract, responseViolations, sseFrameViolations } from './contract.js';

export interface Frame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comment?: string;
}

/**
 * A gateway's stream (it sends X-Correlation-Id) is held to the served document: its status and
 * headers, then each frame's data against the schema of its event type. A departure is thrown
 * out of band, so the test file fails loudly, naming the frame.
 */
const checkAgainstContract = (url: string, response: IncomingMessage): ((frame: Frame) => void) => {
  if (response.headers['x-correlation-id'] === undefined || isExemptFromContract(url)) return () => undefined;
  const path = new URL(url).pathname;
  const observed = {
    method: 'GET',
    path,
    status: response.statusCode ?? 0,
    headers: new Headers(response.headers as Record<string, string>),
    body: undefined,
  };
  const fail = (violations: string[], body?: string) => {
    if (violations.length === 0) return;
    const error = new ContractViolationError({ ...observed, body }, violations);
    process.nextTick(() => {
      throw error;
    });
  };
  fail(responseViolations(observed));
  return (frame) => {
    if (frame.event !== undefined && frame.data !== undefined)
      fail(sseFrameViolations(path, frame.event, frame.data), `event: ${frame.event}\ndata: ${frame.data}`);
  };
};

/** A client over a raw socket: frames as the SSE spec splits them. */
export const connectSse = (
  url: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<{ response: IncomingMessage; frames: Frame[]; ended: Promise<void>; close: () => void }> =>
  new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers } },
      (response) => {
        const frames: Frame[] = [];
        const check = checkAgainstContract(url, response);
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const frame: Frame = {};
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) frame.comment = line.slice(1).trim();
              else {
                const colon = line.indexOf(':');
                const field = line.slice(0, colon) as keyof Frame;
                frame[field] = line.slice(colon + 1).replace(/^ /, '');
              }
            }
            check(frame);
            frames.push(frame);
          }
        });
        const ended = new Promise<void>((done) => response.on('close', () => done()));
        resolve({ response, frames, ended, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
