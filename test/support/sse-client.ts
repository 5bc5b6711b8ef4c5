import { request, type IncomingMessage } from 'node:http';

export interface Frame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comment?: string;
}

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
