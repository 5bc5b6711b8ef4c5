import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { simpleGit } from 'simple-git';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import type { Gateway } from '../../src/composition.js';
import { deploymentStream, type DeploymentEvent } from '../../src/deployments/events.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { commitEverything, startDeployingGateway } from './bench-gateway.js';
import type { Figure } from './eventstore.js';

export const TOKEN = 'bench-operator-token-0123456789';
const ROUNDS = 5;
const SUBSCRIBERS = 1000;
const BROADCASTS = 100;
const APPLIED_KINDS = [
  'Namespace',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ResourceQuota',
  'LimitRange',
  'ConfigMap',
  'Deployment',
  'Service',
  'Ingress',
];

export const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
export const spread = (values: readonly number[]): string =>
  `${median(values).toFixed(0)} ms median (${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}) of ${values.length}`;

export const api = (gateway: Gateway, method: string, path: string, body?: unknown) =>
  fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** A Node service of 200 files (about 1.5 KB each) in 10 folders, one commit. */
const makeRepo = async (path: string): Promise<void> => {
  await simpleGit().raw(['init', '-q', '-b', 'main', path]);
  await writeFile(
    join(path, 'package.json'),
    JSON.stringify({ name: 'bench', scripts: { start: 'node src0/file1.js' } }),
  );
  for (let i = 1; i < 200; i++) {
    const folder = join(path, `src${i % 10}`);
    await mkdir(folder, { recursive: true });
    await writeFile(
      join(folder, `file${i}.js`),
      `// file ${i}\n${`export const value${i} = ${JSON.stringify('x'.repeat(60))};\n`.repeat(24)}`,
    );
  }
  await commitEverything(path);
};

/**
 * Confirmation → every object applied (the ingress step done), from the deployment's own event
 * times, for a 200-file repository against the fake API server; beside the same objects applied
 * straight with `@kubernetes/client-node` (no gateway), the floor of this path.
 */
const benchApply = async (gateway: Gateway, fake: FakeKube, sessionId: string): Promise<Figure[]> => {
  const times: number[] = [];
  let files = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const planned = (await (
      await api(gateway, 'POST', '/api/deployments', { session_id: sessionId })
    ).json()) as DeploymentView;
    files = planned.plan.configmaps.reduce((sum, bundle) => sum + bundle.files, 0);
    await api(gateway, 'POST', `/api/deployments/${planned.deployment_id}/confirm`, {});
    let status = 'confirmed';
    while (status !== 'succeeded' && status !== 'failed') {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (
        (await (await api(gateway, 'GET', `/api/deployments/${planned.deployment_id}`)).json()) as DeploymentView
      ).status;
    }
    if (status !== 'succeeded') throw new Error(`deployment ${planned.deployment_id} failed`);
    const history = (await gateway.eventLog.readStream<DeploymentEvent>(deploymentStream(planned.deployment_id))).map(
      (stored) => stored.event,
    );
    const confirmed = history.find((event) => event.type === 'DeploymentConfirmed');
    const ingress = history.find((event) => event.type === 'DeploymentStepCompleted' && event.data.step === 'ingress');
    if (confirmed?.type !== 'DeploymentConfirmed' || ingress?.type !== 'DeploymentStepCompleted')
      throw new Error('missing events');
    times.push(Date.parse(ingress.data.finished_at) - Date.parse(confirmed.data.confirmed_at));
  }
  // The floor: the same objects, applied one by one with the same client and field manager, into a fresh namespace.
  const config = new KubeConfig();
  config.loadFromString(fake.kubeconfig);
  const client = KubernetesObjectApi.makeApiClient(config);
  const objects = APPLIED_KINDS.flatMap((kind) => fake.objects(kind, kind === 'Namespace' ? undefined : 'bench-lab'));
  const raw: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const namespace = `raw-${round}`;
    const t0 = performance.now();
    for (const object of objects) {
      const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, ...metadata } = object.metadata;
      const copy = {
        ...object,
        metadata: object.kind === 'Namespace' ? { ...metadata, name: namespace } : { ...metadata, namespace },
      } as KubernetesObject;
      await client.patch(copy, undefined, undefined, 'bench', true, PatchStrategy.ServerSideApply);
    }
    raw.push(performance.now() - t0);
  }
  return [
    {
      name: `raw server-side apply of the same ${objects.length} objects (floor)`,
      value: spread(raw),
      target: '—',
      met: undefined,
    },
    {
      name: `confirmation → manifests applied, ${files} files`,
      value: spread(times),
      target: '≤ 1000 ms',
      met: median(times) <= 1000,
    },
  ];
};

/** SSE clients on raw sockets: each delivery's latency from `sentAt[n]` of the broadcast it carries. */
const subscribe = async (
  url: string,
  count: number,
  sentAt: number[],
  latencies: number[],
  headers: Record<string, string> = {},
) => {
  const sockets: (() => void)[] = [];
  let received = 0;
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = request(
            url,
            { agent: false, headers: { accept: 'text/event-stream', ...headers } },
            (response) => {
              if (response.statusCode !== 200) reject(new Error(`SSE answered ${response.statusCode}`));
              response.setEncoding('utf8');
              let buffer = '';
              response.on('data', (chunk: string) => {
                buffer += chunk;
                if (buffer.includes('retry:')) resolve();
                let cut: number;
                while ((cut = buffer.indexOf('\n\n')) >= 0) {
                  const frame = buffer.slice(0, cut);
                  buffer = buffer.slice(cut + 2);
                  const data = /^data: (.*)$/m.exec(frame)?.[1];
                  if (!data) continue;
                  const round = Number((JSON.parse(data) as { message: string }).message);
                  latencies.push(performance.now() - sentAt[round]!);
                  received++;
                }
              });
            },
          );
          req.on('error', reject);
          req.end();
          sockets.push(() => req.destroy());
        }),
    ),
  );
  return { received: () => received, close: () => sockets.forEach((close) => close()) };
};

/** Sends BROADCASTS events, one at a time, each once every subscriber has the previous one. */
const broadcastAll = async (
  send: (round: number) => Promise<void> | void,
  sentAt: number[],
  received: () => number,
  count: number,
): Promise<void> => {
  for (let round = 0; round < BROADCASTS; round++) {
    sentAt[round] = performance.now();
    await send(round);
    const deadline = Date.now() + 10_000;
    while (received() < (round + 1) * count) {
      if (Date.now() > deadline)
        throw new Error(`broadcast ${round}: ${received()} of ${(round + 1) * count} delivered`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
};

const summary = (latencies: readonly number[]): string =>
  `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`;

/** The physical limit: a bare Node `http` server writing the same SSE frames to the same number of clients. */
const benchBareBroadcaster = async (): Promise<number[]> => {
  const clients = new Set<ServerResponse>();
  const server = createServer((_, response) => {
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    response.write('retry: 2000\n\n');
    clients.add(response);
    response.on('close', () => clients.delete(response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const sentAt: number[] = [];
  const latencies: number[] = [];
  const subscribers = await subscribe(url, SUBSCRIBERS, sentAt, latencies);
  await broadcastAll(
    (round) => {
      const frame = `id: ${round}\nevent: progress\ndata: ${JSON.stringify({ step: 'pods_ready', message: String(round) })}\n\n`;
      for (const client of clients) client.write(frame);
    },
    sentAt,
    subscribers.received,
    SUBSCRIBERS,
  );
  subscribers.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return latencies;
};

/** The gateway: an event appended to a deployment's stream (durably, fdatasync included) until each progress subscriber has it. */
const benchGatewaySse = async (
  gateway: Gateway,
  sessionId: string,
): Promise<{ latencies: number[]; appends: number[] }> => {
  const appends: number[] = [];
  const planned = (await (
    await api(gateway, 'POST', '/api/deployments', { session_id: sessionId })
  ).json()) as DeploymentView;
  const sentAt: number[] = [];
  const latencies: number[] = [];
  const subscribers = await subscribe(
    `${gateway.url}/api/deployments/${planned.deployment_id}/progress`,
    SUBSCRIBERS,
    sentAt,
    latencies,
    { authorization: `Bearer ${TOKEN}` },
  );
  const context = { actor: 'bench', correlationId: 'bench', causationId: 'bench', now: new Date() };
  await broadcastAll(
    async (round) => {
      await gateway.eventLog.append(
        deploymentStream(planned.deployment_id),
        [
          {
            type: 'DeploymentProgressed',
            data: { step: 'pods_ready', message: String(round), at: new Date().toISOString() },
          },
        ],
        { expectedRevision: 'any', context },
      );
      appends.push(performance.now() - sentAt[round]!);
    },
    sentAt,
    subscribers.received,
    SUBSCRIBERS,
  );
  subscribers.close();
  return { latencies, appends };
};

/**
 * `npm run bench -- deploy`: the gateway's own time from confirmation to manifests applied for a
 * 200-file repository, and append-to-SSE-delivery latency with 1,000 progress subscribers beside a
 * bare Node broadcaster measured in the same run.
 */
export const benchDeploy = async (): Promise<Figure[]> => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-deploy-'));
  const fake = await startFakeKube({ podDelayMs: 20 });
  const figures: Figure[] = [];
  try {
    await makeRepo(join(dir, 'repos', 'api'));
    const { gateway, sessionId } = await startDeployingGateway(dir, TOKEN, fake.kubeconfig);
    try {
      figures.push(...(await benchApply(gateway, fake, sessionId)));
      const bare = await benchBareBroadcaster();
      const { latencies: ours, appends } = await benchGatewaySse(gateway, sessionId);
      const bareP99 = percentile(bare, 99);
      figures.push({
        name: `bare Node http SSE broadcaster, ${SUBSCRIBERS} subscribers (physical limit)`,
        value: summary(bare),
        target: '—',
        met: undefined,
      });
      figures.push({
        name: 'of which the durable append (fdatasync) alone',
        value: summary(appends),
        target: '—',
        met: undefined,
      });
      figures.push({
        name: `append → progress SSE delivery, ${SUBSCRIBERS} subscribers`,
        value: summary(ours),
        target: `p99 ≤ 2× bare (${(2 * bareP99).toFixed(1)} ms)`,
        met: percentile(ours, 99) <= 2 * bareP99,
      });
    } finally {
      await gateway.stop();
    }
  } finally {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
};
