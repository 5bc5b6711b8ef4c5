import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import type { SessionView } from '../../src/sessions/session-view.js';
import type { Gateway } from '../../src/composition.js';
import { commitFiles, NODE_APP } from '../support/lab-session.js';
import { connectSse } from '../support/sse-client.js';
import { makeRepo } from '../support/test-gateway.js';
import { startBenchGateway } from './bench-gateway.js';
import { startFakeKubeProcess } from './fake-kube-process.js';
import type { Figure } from './eventstore.js';

/**
 * `npm run bench -- soak`: many sessions and deployments at once for SOAK_SECONDS (default 30)
 * with SOAK_CONCURRENCY workers (default 8). Each worker loops: create a session → wait for its
 * workspace → commit a small Node app into the worktree → plan a deployment → confirm → follow
 * its progress SSE to `complete` → close the session (removing the workspace). Beside them, SSE
 * subscribers come and go on the sessions' streams and pollers read the list endpoints.
 *
 * The gateway runs in this process (as `npm start` wires it, the rate limit raised); the fake
 * Kubernetes API runs in a child process, so what it stores is not counted in this process's
 * memory. Heap is measured after a full GC, so a figure is what stays reachable, not garbage.
 */

const TOKEN = 'soak-operator-token-0123456789';

const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A full GC on demand: `npm run bench` does not pass --expose-gc, so the flag is set at run time. */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

interface Memory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly requests: number;
  readonly events: number;
  readonly sessions: number;
  readonly at: number;
}

class SoakError extends Error {}

/** What the run counted, shared by every worker. */
class Tally {
  requests = 0;
  readonly latencies: number[] = [];
  readonly commandLatencies: number[] = [];
  readonly errors: string[] = [];
  sessions = 0;
  deployments = 0;
  sseOpened = 0;
  sseFrames = 0;
  readonly liveSessions: string[] = [];

  error(what: string): void {
    this.errors.push(what);
    if (this.errors.length <= 5) console.error(`soak error: ${what}`);
  }
}

/** How long the log is watched after the load: an idle gateway appends nothing. */
const REST_MS = 10_000;

const logHead = async (gateway: Gateway): Promise<number> =>
  (await gateway.eventLog.store.readAll({ direction: 'backwards', maxCount: 1 }))[0]?.position ?? -1;

/** How many events of each type the log holds after `from` up to `to` (positions). */
const typesBetween = async (gateway: Gateway, from: number, to: number): Promise<Map<string, number>> => {
  const counts = new Map<string, number>();
  for (let next = from + 1; next <= to;) {
    const page = await gateway.eventLog.store.readAll({ fromPosition: next, maxCount: 1000 });
    if (page.length === 0) break;
    for (const event of page) if (event.position <= to) counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
    next = page[page.length - 1]!.position + 1;
  }
  return counts;
};

export const benchSoak = async (): Promise<Figure[]> => {
  const seconds = Number(process.env['SOAK_SECONDS'] ?? 30);
  const concurrency = Number(process.env['SOAK_CONCURRENCY'] ?? 8);
  const warmupMs = Math.min(10_000, (seconds * 1000) / 3);
  const dir = await mkdtemp(join(tmpdir(), 'bench-soak-'));
  const fake = await startFakeKubeProcess();
  const tally = new Tally();
  try {
    await makeRepo(join(dir, 'repos'), 'api');
    await writeFile(join(dir, 'kubeconfig.yaml'), fake.kubeconfig);
    const gateway: Gateway = await startBenchGateway(dir, TOKEN, {
      kubeconfig: join(dir, 'kubeconfig.yaml'),
      env: { GATEWAY_WORKSPACE: dir, GATEWAY_BUNDLE_SECRET: 'soak' },
    });
    try {
      /** One request, timed and judged: anything but the expected status is an error of the run. */
      const api = async <T>(method: string, path: string, body?: unknown, command = method !== 'GET'): Promise<T> => {
        const started = performance.now();
        let response: Response;
        try {
          response = await fetch(`${gateway.url}${path}`, {
            method,
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          });
        } catch (error) {
          tally.error(`${method} ${path}: ${(error as Error).message}`);
          throw new SoakError();
        }
        const text = await response.text();
        const elapsed = performance.now() - started;
        tally.requests++;
        tally.latencies.push(elapsed);
        if (command) tally.commandLatencies.push(elapsed);
        if (response.status !== (method === 'GET' ? 200 : 202)) {
          tally.error(`${method} ${path} → ${response.status} ${text.slice(0, 200)}`);
          throw new SoakError();
        }
        return JSON.parse(text) as T;
      };

      const eventsAppended = async (): Promise<number> =>
        Number(
          /^gateway_events_appended_total (\d+)/m.exec(await (await fetch(`${gateway.url}/metrics`)).text())?.[1] ??
            NaN,
        );
      const measure = async (): Promise<Memory> => {
        collectGarbage();
        collectGarbage();
        const { rss, heapUsed } = process.memoryUsage();
        return {
          rss,
          heapUsed,
          requests: tally.requests,
          events: await eventsAppended(),
          sessions: tally.sessions,
          at: performance.now(),
        };
      };

      const start = await measure();
      const headAtStart = await logHead(gateway);
      const deadline = performance.now() + seconds * 1000;
      let running = true;

      /** One session's whole life, with a deployment in the middle. */
      const lifecycle = async (worker: number, round: number): Promise<void> => {
        const project = `w${worker}-r${round}`;
        const created = await api<SessionView>('POST', '/api/sessions', {
          category: 'soak',
          project,
          repos: [{ name: 'api' }],
          task: { title: 'Fix the typo in the footer', description: 'Small change.' },
        });
        let view = created;
        while (!(view.status === 'active' && view.repos[0]?.worktree_path)) {
          if (view.status === 'failed' || view.status === 'closed') {
            tally.error(`session ${project} ended ${view.status} before its workspace was ready`);
            throw new SoakError();
          }
          await sleep(20);
          view = await api<SessionView>('GET', `/api/sessions/${created.session_id}`);
        }
        tally.liveSessions.push(created.session_id);
        await commitFiles(view.repos[0]!.worktree_path!, NODE_APP);
        const planned = await api<DeploymentView>('POST', '/api/deployments', { session_id: created.session_id });
        await api<DeploymentView>('POST', `/api/deployments/${planned.deployment_id}/confirm`, {});
        // The deployment's progress SSE from its start: it ends after `complete`.
        const progress = await connectSse(
          `${gateway.url}/api/deployments/${planned.deployment_id}/progress?from=0`,
          TOKEN,
        );
        tally.sseOpened++;
        if (progress.response.statusCode !== 200) {
          tally.error(`progress SSE of ${planned.deployment_id} answered ${progress.response.statusCode}`);
          progress.close();
          throw new SoakError();
        }
        const timeout = setTimeout(progress.close, 120_000);
        await progress.ended;
        clearTimeout(timeout);
        tally.sseFrames += progress.frames.length;
        const complete = progress.frames.find((frame) => frame.event === 'complete');
        const status = complete ? (JSON.parse(complete.data ?? '{}') as { status?: string }).status : undefined;
        if (status !== 'succeeded') {
          tally.error(`deployment ${planned.deployment_id} ended ${status ?? 'without a complete event'}`);
          throw new SoakError();
        }
        tally.deployments++;
        tally.liveSessions.splice(tally.liveSessions.indexOf(created.session_id), 1);
        await api('POST', `/api/sessions/${created.session_id}/close`, {
          reason: 'soak round done',
          remove_workspace: true,
        });
        tally.sessions++;
      };

      const worker = async (index: number): Promise<void> => {
        for (let round = 0; running && performance.now() < deadline; round++) {
          try {
            await lifecycle(index, round);
          } catch (error) {
            if (!(error instanceof SoakError)) tally.error(`worker ${index}: ${(error as Error).message}`);
          }
        }
      };

      /** SSE subscribers that come and go on live sessions' streams: every subscription must be cleaned up. */
      const subscriber = async (): Promise<void> => {
        while (running) {
          const sessionId = tally.liveSessions[Math.floor(Math.random() * tally.liveSessions.length)];
          if (sessionId === undefined) {
            await sleep(50);
            continue;
          }
          const stream = await connectSse(`${gateway.url}/api/sessions/${sessionId}/events?from=0`, TOKEN);
          tally.sseOpened++;
          if (stream.response.statusCode !== 200) tally.error(`session SSE answered ${stream.response.statusCode}`);
          await sleep(500 + Math.random() * 1500);
          tally.sseFrames += stream.frames.length;
          stream.close();
        }
      };

      /** A dashboard: the list endpoints, polled. */
      const poller = async (): Promise<void> => {
        const lists = [
          '/api/sessions?status=active',
          '/api/sessions?limit=50',
          '/api/deployments?limit=50',
          '/api/namespaces',
          '/api/webhooks/failed',
        ];
        for (let turn = 0; running; turn++) {
          await api('GET', lists[turn % lists.length]!).catch(() => undefined);
          await sleep(50);
        }
      };

      const workers = Array.from({ length: concurrency }, (_, index) => worker(index));
      const side = [
        ...Array.from({ length: Math.max(2, concurrency / 2) }, () => subscriber()),
        ...Array.from({ length: 2 }, () => poller()),
      ];
      await sleep(warmupMs);
      const warm = await measure();
      // Heap after a full GC every few seconds after the warm-up: a slope, not two points.
      const samples: Memory[] = [warm];
      const sampling = (async () => {
        while (performance.now() < deadline) {
          await sleep(Math.max(1000, (seconds * 1000 - warmupMs) / 8));
          if (performance.now() < deadline) samples.push(await measure());
        }
      })();
      await Promise.all(workers);
      running = false;
      await Promise.all([...side, sampling]);
      const elapsedMinutes = (performance.now() - start.at) / 60_000;
      await sleep(500);
      const end = await measure();
      samples.push(end);
      const headAtEnd = await logHead(gateway);
      const types = await typesBetween(gateway, headAtStart, headAtEnd);
      const checkpoints = types.get('CheckpointSaved') ?? 0;
      const appendedUnderLoad = headAtEnd - headAtStart;
      // The load is over: the log must now stand still.
      await sleep(REST_MS);
      const appendedAtRest = (await logHead(gateway)) - headAtEnd;

      // Least-squares slope of heap after GC against requests served, after the warm-up.
      const meanX = samples.reduce((sum, sample) => sum + sample.requests, 0) / samples.length;
      const meanY = samples.reduce((sum, sample) => sum + sample.heapUsed, 0) / samples.length;
      const slope =
        samples.reduce((sum, sample) => sum + (sample.requests - meanX) * (sample.heapUsed - meanY), 0) /
        Math.max(
          1,
          samples.reduce((sum, sample) => sum + (sample.requests - meanX) ** 2, 0),
        );
      const grown = end.heapUsed - warm.heapUsed;
      const sessionsAfterWarmup = Math.max(1, end.sessions - warm.sessions);

      const errors = tally.errors.length;
      return [
        {
          name: 'duration, workers',
          value: `${(elapsedMinutes * 60).toFixed(1)} s, ${concurrency} workers, ${side.length} SSE subscribers and pollers`,
          target: '—',
          met: undefined,
        },
        {
          name: 'sessions completed (create → close)',
          value: `${tally.sessions} (${(tally.sessions / elapsedMinutes).toFixed(1)}/min)`,
          target: '—',
          met: undefined,
        },
        {
          name: 'deployments completed (plan → succeeded)',
          value: `${tally.deployments} (${(tally.deployments / elapsedMinutes).toFixed(1)}/min)`,
          target: '—',
          met: undefined,
        },
        {
          name: 'requests',
          value: `${tally.requests} (${(tally.requests / elapsedMinutes / 60).toFixed(0)}/s)`,
          target: '—',
          met: undefined,
        },
        {
          name: 'errors (unexpected status, failed deployment)',
          value: `${errors}${errors > 0 ? ` (first: ${tally.errors[0]!.slice(0, 120)})` : ''}`,
          target: '0',
          met: errors === 0,
        },
        {
          name: 'request latency, all',
          value: `p50 ${percentile(tally.latencies, 50).toFixed(1)} ms, p99 ${percentile(tally.latencies, 99).toFixed(1)} ms`,
          target: '—',
          met: undefined,
        },
        {
          name: 'request latency, commands (202)',
          value: `p50 ${percentile(tally.commandLatencies, 50).toFixed(1)} ms, p99 ${percentile(tally.commandLatencies, 99).toFixed(1)} ms`,
          target: '—',
          met: undefined,
        },
        {
          name: 'SSE subscriptions opened, frames received',
          value: `${tally.sseOpened}, ${tally.sseFrames}`,
          target: '—',
          met: undefined,
        },
        {
          name: 'events appended',
          value: `${end.events - start.events} (${((end.events - start.events) / elapsedMinutes / 60).toFixed(0)}/s)`,
          target: '—',
          met: undefined,
        },
        {
          name: 'checkpoint events under load',
          value: `${checkpoints} of ${appendedUnderLoad} (${((100 * checkpoints) / Math.max(1, appendedUnderLoad)).toFixed(2)}%); reaction records ${(types.get('ReactionCompleted') ?? 0) + (types.get('ReactionFailed') ?? 0)}`,
          target: '< 1%',
          met: checkpoints < appendedUnderLoad / 100,
        },
        {
          name: `events appended at rest (${REST_MS / 1000} s after the load)`,
          value: String(appendedAtRest),
          target: '0',
          met: appendedAtRest === 0,
        },
        {
          name: 'RSS: start, after warm-up, end',
          value: `${mb(start.rss)}, ${mb(warm.rss)}, ${mb(end.rss)}`,
          target: '—',
          met: undefined,
        },
        {
          name: 'heap after GC: start, after warm-up, end',
          value: `${mb(start.heapUsed)}, ${mb(warm.heapUsed)}, ${mb(end.heapUsed)}`,
          target: '—',
          met: undefined,
        },
        {
          name: 'heap growth after warm-up',
          value: `${(grown / 1024).toFixed(0)} KB: ${((slope * 1000) / 1024).toFixed(1)} KB per 1,000 requests (slope of ${samples.length} samples), ${(grown / 1024 / sessionsAfterWarmup).toFixed(1)} KB per session, ${(grown / Math.max(1, end.events - warm.events)).toFixed(0)} bytes per event appended`,
          target: 'no steady growth',
          met: undefined,
        },
      ];
    } finally {
      await gateway.stop();
    }
  } finally {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
};
