import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import * as E from 'fp-ts/lib/Either.js';
import pino from 'pino';
import { startGateway, type Gateway } from '../../src/composition.js';
import { formatConfigError, loadConfig } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import type { SessionView } from '../../src/sessions/session-view.js';

/**
 * The gateway as `npm start` wires it, for a benchmark: the shipped configuration with its data
 * and workspace in `dir`, one operator token, no OpenCode, no rate limit in the way, silent logs.
 */
export const startBenchGateway = async (
  dir: string,
  token: string,
  options: {
    readonly kubeconfig?: string;
    readonly workspace?: Partial<GatewayConfig['workspace']>;
    readonly env?: Readonly<Record<string, string>>;
    readonly deployment?: Partial<GatewayConfig['deployment']>;
  } = {},
): Promise<Gateway> => {
  const loaded = loadConfig({
    env: { GATEWAY_DATA_DIR: dir, PORT: '0', GATEWAY_TOKENS: `bench:operator:${token}`, ...options.env },
  });
  if (E.isLeft(loaded)) throw new Error(formatConfigError(loaded.left));
  const config = loaded.right;
  return startGateway(
    {
      ...config,
      ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
      server: { ...config.server, rate_limit_per_minute: 1_000_000 },
      event_store: { type: 'embedded', data_dir: join(dir, 'events'), min_free_bytes: 0 },
      workspace: { ...config.workspace, ...options.workspace },
      deployment: { ...config.deployment, ...options.deployment },
      opencode: { ...config.opencode, enabled: false },
    },
    { logger: pino({ level: 'silent' }) },
  );
};

/**
 * A bench gateway whose cluster is `kubeconfig`'s and whose workspace is `dir` (repositories under
 * `dir/repos`), with one session on repo `api` whose workspace is made: what a deployment needs.
 */
export const startDeployingGateway = async (
  dir: string,
  token: string,
  kubeconfig: string,
  deployment: Partial<GatewayConfig['deployment']> = {},
): Promise<{ gateway: Gateway; sessionId: string }> => {
  await writeFile(join(dir, 'kubeconfig.yaml'), kubeconfig);
  const gateway = await startBenchGateway(dir, token, {
    kubeconfig: join(dir, 'kubeconfig.yaml'),
    env: { GATEWAY_WORKSPACE: dir, GATEWAY_BUNDLE_SECRET: 'bench' },
    deployment,
  });
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const session = (await (
    await api('POST', '/api/sessions', {
      category: 'bench',
      project: 'bench',
      repos: [{ name: 'api' }],
      task: { title: 'Fix it', description: 'Small.' },
    })
  ).json()) as { session_id: string };
  while (
    ((await (await api('GET', `/api/sessions/${session.session_id}`)).json()) as SessionView).status === 'initializing'
  )
    await new Promise((resolve) => setTimeout(resolve, 10));
  return { gateway, sessionId: session.session_id };
};

/** Commits everything in the repository at `path`, as one author. */
export const commitEverything = async (path: string, message = 'init'): Promise<void> => {
  await simpleGit(path).add('.');
  await simpleGit(path).raw([
    '-c',
    'user.name=Bench',
    '-c',
    'user.email=bench@example.com',
    'commit',
    '-q',
    '-m',
    message,
  ]);
};
