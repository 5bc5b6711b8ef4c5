import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';

/**
 * One hostile client, in a process of its own so that it competes with the gateway for the CPU
 * but not for the measuring process's event loop: it loops over the attacks of the edge issue
 * (a query of 7,900 repeated keys, unauthenticated POSTs carrying an Idempotency-Key, long
 * queries, guessed tokens) until SIGTERM, then prints how many it sent by status as JSON.
 *
 * Usage: node --import tsx test/support/attacker.ts <gateway url>
 */
const base = process.argv[2]!;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const crowded = `/labs/bundles/${'a'.repeat(64)}.tar.gz?${Array.from({ length: 7900 }, () => 'a').join('&')}`;
const attacks: (() => { method: string; path: string; headers: Record<string, string>; body?: string })[] = [
  () => ({ method: 'GET', path: crowded, headers: {} }),
  () => ({
    method: 'POST',
    path: '/nope',
    headers: { 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
    body: '{}',
  }),
  () => ({
    method: 'POST',
    path: '/api/sessions',
    headers: { 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
    body: '{}',
  }),
  () => ({ method: 'GET', path: `/openapi.json?q=${'x'.repeat(8000)}`, headers: {} }),
  () => ({ method: 'GET', path: '/api/sessions', headers: { authorization: `Bearer guess-${randomUUID()}` } }),
];
const counts: Record<string, number> = {};
let running = true;

const send = (): Promise<void> =>
  new Promise((resolve) => {
    const attack = attacks[Math.floor(Math.random() * attacks.length)]!();
    const sent = request(
      `${base}${attack.path}`,
      { method: attack.method, headers: attack.headers, agent },
      (response) => {
        response.resume();
        response.on('end', () => {
          counts[String(response.statusCode)] = (counts[String(response.statusCode)] ?? 0) + 1;
          resolve();
        });
      },
    );
    sent.on('error', () => {
      counts['error'] = (counts['error'] ?? 0) + 1;
      resolve();
    });
    sent.end(attack.body);
  });

process.on('SIGTERM', () => {
  running = false;
});
process.stdout.write('ready\n');
while (running) await send();
process.stdout.write(`${JSON.stringify(counts)}\n`);
agent.destroy();
