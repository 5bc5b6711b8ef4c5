import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import pino from 'pino';
import { openCodeConfigContent } from '../../src/agents/opencode-config.js';
import { openCodeClient } from '../../src/agents/opencode-client.js';
import { OpenCodeServer } from '../../src/agents/opencode-server.js';
import { loadPersonas } from '../../src/agents/personas.js';
import { createEventRegistry } from '../../src/capabilities.js';
import { startGateway, type Gateway } from '../../src/composition.js';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { EventLog } from '../../src/events/event-log.js';
import { formatConfigError, loadConfig } from '../../src/config/load.js';
import { sessionStream } from '../../src/sessions/events.js';
import { scriptedProviderConfig, startScriptedModel } from '../support/scripted-model.js';
import { until } from '../support/eventually.js';
import { caller } from '../support/gateway-client.js';
import { makeRepo } from '../support/test-gateway.js';
import type { Figure } from './eventstore.js';

const TOKEN = 'bench-operator-token-0123456789';
const MB = 1024 * 1024;

/** Resident memory of a process, from /proc (the kernel's own count). */
const rssOf = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

const api = caller(TOKEN);

const replies = async (gateway: Gateway, sessionId: string): Promise<number> =>
  (await gateway.eventLog.readStream(sessionStream(sessionId))).filter((stored) => stored.event.type === 'AgentReplied')
    .length;

/** Settles memory before a reading: both processes' garbage collected, then a pause. */
const settle = async (): Promise<void> => {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setTimeout(resolve, 1500));
};

/**
 * Resident memory of the gateway plus its one OpenCode server with 1, 5 and 20 sessions that each
 * ran one scripted turn, beside what one server per session costs (measured in the same run),
 * and the time from MessageSent to AgentReplied with the scripted model.
 */
export const benchAgents = async (): Promise<Figure[]> => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-agents-'));
  const model = await startScriptedModel();
  const figures: Figure[] = [];
  try {
    await makeRepo(join(dir, 'repos'), 'api');
    const loaded = loadConfig({
      env: {
        GATEWAY_DATA_DIR: dir,
        GATEWAY_WORKSPACE: dir,
        PORT: '0',
        GATEWAY_TOKENS: `bench:operator:${TOKEN}`,
        GATEWAY_OPENCODE_CONFIG: JSON.stringify(scriptedProviderConfig(model.baseUrl)),
      },
    });
    if (E.isLeft(loaded)) throw new Error(formatConfigError(loaded.left));
    const gateway = await startGateway(
      { ...loaded.right, server: { ...loaded.right.server, rate_limit_per_minute: 1_000_000 } },
      { logger: pino({ level: 'silent' }) },
    );
    const opencodePid = gateway.agents!.server.pid!;
    try {
      await settle();
      const idle = process.memoryUsage().rss + rssOf(opencodePid);
      figures.push({
        name: 'gateway + OpenCode, no session (floor)',
        value: `${(idle / MB).toFixed(0)} MB`,
        target: '—',
        met: undefined,
      });
      const sessions: string[] = [];
      const readings = new Map<number, number>();
      for (const total of [1, 5, 20]) {
        const added = await Promise.all(
          Array.from({ length: total - sessions.length }, async (_, index) => {
            const response = await api(gateway, 'POST', '/api/sessions', {
              category: 'bench',
              project: `p${sessions.length + index}`,
              repos: [{ name: 'api' }],
              task: { title: 'Fix typo in the footer', description: 'One word.' },
            });
            return ((await response.json()) as { session_id: string }).session_id;
          }),
        );
        sessions.push(...added);
        await until(
          async () => (await Promise.all(added.map((id) => replies(gateway, id)))).every((count) => count >= 1),
          `${total} sessions answered`,
          180_000,
        );
        await settle();
        const rss = process.memoryUsage().rss + rssOf(opencodePid);
        readings.set(total, rss);
        figures.push({
          name: `gateway + OpenCode, ${total} session${total === 1 ? '' : 's'} after one turn each`,
          value: `${(rss / MB).toFixed(0)} MB`,
          target: '—',
          met: undefined,
        });
      }
      const marginal = (readings.get(20)! - readings.get(1)!) / 19 / MB;
      figures.push({
        name: 'marginal memory per extra session (1 → 20)',
        value: `${marginal.toFixed(1)} MB`,
        target: '≤ 40 MB',
        met: marginal <= 40,
      });

      // Latency: a message to an idle agent until its reply is recorded, one at a time.
      const latencies: number[] = [];
      for (let round = 0; round < 10; round++) {
        const before = await replies(gateway, sessions[0]!);
        const sent = await api(gateway, 'POST', `/api/sessions/${sessions[0]}/messages`, { text: `Round ${round}` });
        if (sent.status !== 202) throw new Error(`message refused: ${sent.status}`);
        await until(async () => (await replies(gateway, sessions[0]!)) > before, 'the reply', 180_000);
        const events = await gateway.eventLog.readStream(sessionStream(sessions[0]!));
        const message = events.filter((stored) => stored.event.type === 'MessageSent').at(-1)!;
        const reply = events.filter((stored) => stored.event.type === 'AgentReplied').at(-1)!;
        latencies.push(Date.parse(reply.metadata.recorded_at) - Date.parse(message.metadata.recorded_at));
        await until(
          async () =>
            ((await (await api(gateway, 'GET', `/api/sessions/${sessions[0]}`)).json()) as { agent_status: string })
              .agent_status === 'idle',
          'idle',
          180_000,
        );
      }
      latencies.sort((a, b) => a - b);
      figures.push({
        name: 'MessageSent → AgentReplied, scripted model (10 turns)',
        value: `median ${latencies[5]} ms (${latencies[0]}–${latencies.at(-1)})`,
        target: '—',
        met: undefined,
      });
    } finally {
      await gateway.stop();
    }

    // The alternative: a server per session, each with one turn.
    const personas = loadPersonas('config/personas');
    if (E.isLeft(personas)) throw new Error(personas.left);
    const perServer: number[] = [];
    const store = await openEmbeddedEventStore({ dataDir: join(dir, 'solo-events') });
    const eventLog = new EventLog(store, createEventRegistry());
    for (let n = 0; n < 2; n++) {
      const stateDir = join(dir, `solo-${n}`);
      const server = new OpenCodeServer({
        cliPath: 'node_modules/.bin/opencode',
        stateDir,
        configContent: openCodeConfigContent(scriptedProviderConfig(model.baseUrl), personas.right),
        eventLog,
        logger: pino({ level: 'silent' }),
      });
      await server.start();
      try {
        const client = openCodeClient(server.endpoint);
        const workspace = join(dir, 'builders', `bench-p${n}`);
        const created = await client.session.create({ directory: workspace, title: 'solo' });
        await client.session.prompt({
          sessionID: created.data!.id,
          directory: workspace,
          agent: 'builder',
          parts: [{ type: 'text', text: 'One word.' }],
        });
        await settle();
        perServer.push(rssOf(server.pid!));
      } finally {
        await server.stop();
      }
    }
    await store.close();
    const solo = perServer.reduce((sum, value) => sum + value, 0) / perServer.length / MB;
    figures.push({
      name: 'one OpenCode server per session, each after one turn (the alternative)',
      value: `${solo.toFixed(0)} MB per session`,
      target: '—',
      met: undefined,
    });
  } finally {
    await model.close();
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
};
