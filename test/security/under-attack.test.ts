import test from 'ava';
import { startAttackers, stopAttackers } from '../support/attackers.js';
import { startTestGateway } from '../support/test-gateway.js';

/**
 * Four attacker processes send the edge issue's attacks (7,900 repeated query keys, unauthenticated
 * POSTs with Idempotency-Key, long queries, guessed tokens) while a probe reads /health: every
 * probe is answered, every attack refused, and the log does not grow. How fast /health stays is a
 * figure of `npm run bench -- edge` (target p99 < 50 ms), not asserted here.
 */
test('under four attacking clients /health answers every time, every attack is refused, and the log does not grow', async (t) => {
  t.timeout(120_000);
  const gateway = await startTestGateway(t, { tokens: 'slack:operator:operator-token-under-attack-01' });
  const head = async () =>
    (await gateway.eventLog.store.readAll({ direction: 'backwards', maxCount: 1 }))[0]?.position ?? -1;
  const before = await head();
  const attackers = await startAttackers(gateway.url, 4);
  const latencies: number[] = [];
  const statuses = new Set<number>();
  try {
    const end = Date.now() + 5000;
    while (Date.now() < end) {
      const started = performance.now();
      const response = await fetch(`${gateway.url}/health`);
      await response.arrayBuffer();
      latencies.push(performance.now() - started);
      statuses.add(response.status);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    const sent = await stopAttackers(attackers);
    const total = Object.values(sent).reduce((sum, count) => sum + count, 0);
    t.log(`${total} hostile requests: ${JSON.stringify(sent)}`);
    t.true(total > 100, 'the attackers were busy');
    t.deepEqual(
      Object.keys(sent).filter((status) => !['400', '401', '404', '414', '429'].includes(status)),
      [],
      'every attack refused',
    );
  }
  latencies.sort((a, b) => a - b);
  t.log(
    `/health: ${latencies.length} probes, p50 ${latencies[Math.floor(latencies.length / 2)]!.toFixed(1)} ms, p99 ${latencies[Math.ceil(latencies.length * 0.99) - 1]!.toFixed(1)} ms`,
  );
  t.deepEqual([...statuses], [200], 'every probe answered');
  t.is(await head(), before, 'not one event appended');
});
