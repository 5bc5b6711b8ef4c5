import type { ExecutionContext } from 'ava';
import { appendFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signatureMatches, signatureOf } from '../../src/shared/signature.js';
import { webhookViolations } from './contract.js';

export interface Delivery {
  readonly eventId: string;
  readonly eventType: string;
  readonly body: {
    event_id: string;
    event_type: string;
    occurred_at: string;
    session_id: string;
    sequence: number;
    requested_by: { user: string | null; channel: string | null; thread_ts: string | null } | null;
    data: Record<string, unknown>;
  };
  readonly headers: IncomingMessage['headers'];
}

/**
 * The Slack backend's webhook endpoint per the contract: checks `X-Gateway-Signature` against
 * the raw body (constant time) and records what it acknowledged. It can fail on purpose, or
 * go down and come back on the same port, to play an outage.
 */
export const startMockSlack = async (t: Pick<ExecutionContext, 'teardown'>, secret: string) => {
  const deliveries: Delivery[] = [];
  const rejected: string[] = [];
  /** Webhooks that departed from the served document: refused (422), and every wait fails on them. */
  const contractViolations: string[] = [];
  let failing = 0;
  let refusing: ((body: Delivery['body']) => boolean) | undefined;
  /** Deliveries answered 503 by `refuse`, in the order they came. */
  const refusals: Delivery['body'][] = [];
  let listeners: (() => void)[] = [];
  const handler = (request: IncomingMessage, response: import('node:http').ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(request.headers['x-gateway-timestamp'] ?? '');
      const signature = request.headers['x-gateway-signature'];
      if (
        !signatureMatches(
          signatureOf('v1', secret, timestamp, raw),
          typeof signature === 'string' ? signature : undefined,
        )
      ) {
        rejected.push(raw);
        response.writeHead(401).end();
        return;
      }
      if (failing > 0) {
        failing--;
        response.writeHead(503).end();
        return;
      }
      const violations = webhookViolations(request.headers, raw);
      if (violations.length > 0) {
        contractViolations.push(
          `a webhook departs from the served OpenAPI document:\n  - ${violations.join('\n  - ')}\n  body: ${raw}`,
        );
        response.writeHead(422).end();
        for (const listener of listeners) listener();
        return;
      }
      const body = JSON.parse(raw) as Delivery['body'];
      if (refusing?.(body)) {
        refusals.push(body);
        response.writeHead(503).end();
        return;
      }
      deliveries.push({ eventId: body.event_id, eventType: body.event_type, body, headers: request.headers });
      // MOCK_SLACK_LOG=<file> keeps what arrived, for quoting real webhooks in the README.
      const log = process.env['MOCK_SLACK_LOG'];
      if (log) appendFileSync(log, `${JSON.stringify({ headers: request.headers, body })}\n`);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      for (const listener of listeners) listener();
    });
  };
  let server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  t.teardown(close);
  // A test that never waited still fails on a webhook the document does not describe.
  t.teardown(() => {
    if (contractViolations.length > 0) throw new Error(contractViolations.join('\n'));
  });
  return {
    url: `http://127.0.0.1:${port}/slack/webhooks`,
    deliveries,
    rejected,
    refusals,
    contractViolations,
    /** Answers 503 to every delivery `which` picks (all of them without it), until `accept()`. */
    refuse: (which: (body: Delivery['body']) => boolean = () => true) => {
      refusing = which;
    },
    accept: () => {
      refusing = undefined;
    },
    /** Answers 503 to the next `count` deliveries. */
    failNext: (count: number) => {
      failing = count;
    },
    /** Refuses connections until `up()`. */
    down: close,
    up: async () => {
      server = createServer(handler);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    /** Resolves once `predicate` holds for the acknowledged deliveries. */
    waitFor: (predicate: (deliveries: readonly Delivery[]) => boolean, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (contractViolations.length > 0) {
            clearTimeout(timer);
            listeners = listeners.filter((listener) => listener !== check);
            reject(new Error(contractViolations.join('\n')));
            return;
          }
          if (!predicate(deliveries)) return;
          clearTimeout(timer);
          listeners = listeners.filter((listener) => listener !== check);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners = listeners.filter((listener) => listener !== check);
          reject(
            new Error(
              `the mock Slack got ${deliveries.length} deliveries: ${deliveries.map((d) => d.eventType).join(', ')}`,
            ),
          );
        }, timeoutMs);
        listeners.push(check);
        check();
      }),
  };
};
