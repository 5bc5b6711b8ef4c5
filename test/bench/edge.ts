import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Gateway } from '../../src/composition.js';
import { startAttackers, stopAttackers } from '../support/attackers.js';
import { makeRepo } from '../support/test-gateway.js';
import { startBenchGateway } from './bench-gateway.js';
import type { Figure } from './eventstore.js';

/**
 * `npm run bench -- edge`: the gateway under hostile traffic beside normal traffic. Two phases of
 * EDGE_SECONDS (default 15) each: normal traffic alone (an operator listing and reading sessions
 * and asking for routing analyses, and a probe reading /health every 50 ms), then the same with four attacker
 * processes (`attacker.ts`). Printed: /health and normal p99 in both phases, the events and key
 * records the attackers left, and RSS growth per 1,000 hostile requests.
 */
const TOKEN = 'edge-operator-token-0123456789';
const ATTACKERS = 4;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Phase {
  readonly health: number[];
  readonly normal: number[];
  readonly errors: number;
}

const runPhase = async (gateway: Gateway, seconds: number, tag: string, sessionId: string): Promise<Phase> => {
  const health: number[] = [];
  const normal: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const timed = async (
    into: number[],
    path: string,
    init: RequestInit = {},
    ok = (status: number) => status < 300,
  ): Promise<void> => {
    const started = performance.now();
    const response = await fetch(`${gateway.url}${path}`, init);
    await response.arrayBuffer();
    into.push(performance.now() - started);
    if (!ok(response.status)) {
      errors++;
      if (errors <= 3) console.error(`${init.method ?? 'GET'} ${path} → ${response.status}`);
    }
  };
  const auth = { authorization: `Bearer ${TOKEN}` };
  const probe = (async () => {
    while (performance.now() < deadline) {
      await timed(health, '/health');
      await sleep(50);
    }
  })();
  const operator = (async () => {
    while (performance.now() < deadline) {
      await timed(normal, '/api/sessions?limit=20', { headers: auth });
      await timed(normal, `/api/sessions/${sessionId}`, { headers: auth });
      await timed(normal, '/api/routing/analyze', {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ title: `Fix the typo (${tag})`, description: '' }),
      });
      await sleep(20);
    }
  })();
  await Promise.all([probe, operator]);
  return { health, normal, errors };
};

export const benchEdge = async (): Promise<Figure[]> => {
  const seconds = Number(process.env['EDGE_SECONDS'] ?? 15);
  const dir = await mkdtemp(join(tmpdir(), 'bench-edge-'));
  try {
    await makeRepo(join(dir, 'workspace', 'repos'), 'api');
    const gateway = await startBenchGateway(dir, TOKEN, { env: { GATEWAY_WORKSPACE: join(dir, 'workspace') } });
    try {
      const head = async () =>
        (await gateway.eventLog.store.readAll({ direction: 'backwards', maxCount: 1 }))[0]?.position ?? -1;
      // Normal traffic reads (and analyses): creating sessions spawns git in this process, whose
      // pauses would hide what the attackers do.
      const created = await fetch(`${gateway.url}/api/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          category: 'edge',
          project: 'billing',
          repos: [{ name: 'api' }],
          task: { title: 'Fix the typo in the footer', description: 'Small change.' },
        }),
      });
      const { session_id: sessionId } = (await created.json()) as { session_id: string };
      await sleep(2000);
      const quiet = await runPhase(gateway, seconds, 'quiet', sessionId);
      await sleep(1000);
      collectGarbage();
      const rssBefore = process.memoryUsage().rss;
      const headBefore = await head();
      const attackers = await startAttackers(gateway.url, ATTACKERS);
      const attacked = await runPhase(gateway, seconds, 'attacked', sessionId);
      const hostile = await stopAttackers(attackers);
      await sleep(1000);
      collectGarbage();
      const rssAfter = process.memoryUsage().rss;
      const appended = await gateway.eventLog.store.readAll({ fromPosition: headBefore + 1 });
      const byAttackers = appended.filter(
        (event) => event.metadata['actor'] === 'anonymous' || event.type.startsWith('Idempotent'),
      ).length;
      const hostileTotal = Object.values(hostile).reduce((sum, count) => sum + count, 0);
      const statuses = Object.entries(hostile)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([status, count]) => `${status}×${count}`)
        .join(', ');
      const healthP99 = percentile(attacked.health, 99);
      return [
        {
          name: 'hostile requests (4 attacker processes)',
          value: `${hostileTotal} in ${seconds} s: ${statuses}`,
          target: '—',
          met: undefined,
        },
        {
          name: '/health p99 under attack',
          value: `${healthP99.toFixed(1)} ms (without attackers ${percentile(quiet.health, 99).toFixed(1)} ms)`,
          target: '< 50 ms',
          met: healthP99 < 50,
        },
        {
          name: 'normal traffic p99 (list, read, analyse)',
          value: `${percentile(attacked.normal, 99).toFixed(1)} ms under attack, ${percentile(quiet.normal, 99).toFixed(1)} ms without`,
          target: '—',
          met: undefined,
        },
        {
          name: 'normal requests that failed',
          value: `${quiet.errors + attacked.errors}`,
          target: '0',
          met: quiet.errors + attacked.errors === 0,
        },
        {
          name: 'events the attackers appended',
          value: `${byAttackers} (per 1,000 hostile requests: ${((1000 * byAttackers) / Math.max(1, hostileTotal)).toFixed(2)})`,
          target: '0',
          met: byAttackers === 0,
        },
        {
          name: 'RSS growth over the attack (after GC)',
          value: `${((rssAfter - rssBefore) / 1024 / 1024).toFixed(1)} MB: ${((rssAfter - rssBefore) / 1024 / Math.max(1, hostileTotal / 1000)).toFixed(1)} KB per 1,000 hostile requests`,
          target: 'no steady growth',
          met: undefined,
        },
      ];
    } finally {
      await gateway.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
