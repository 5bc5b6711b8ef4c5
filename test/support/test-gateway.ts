import type { ExecutionContext } from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import pino, { type Logger } from 'pino';
import { simpleGit } from 'simple-git';
import { startGateway, type Gateway } from '../../src/composition.js';
import { formatConfigError, loadConfig } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/schema.js';

export interface TestGateway extends Gateway {
  /** The repos root: clones the workspace manager makes worktrees of. */
  readonly reposRoot: string;
  /** The gateway's configuration, as the test set it. */
  readonly config: GatewayConfig;
  /** Stops this gateway and starts another on the same data and workspace folders, as after a restart. */
  restart(): Promise<TestGateway>;
}

export interface TestGatewayOptions {
  /** `name:role:token,...` */
  readonly tokens: string;
  readonly repos?: readonly string[];
  readonly workspace?: Partial<GatewayConfig['workspace']>;
  readonly webhooks?: Partial<GatewayConfig['webhooks']>;
  readonly webhookSecret?: string;
  /** The OpenCode configuration (provider, model) to run agents with; without it agents are off. */
  readonly opencode?: Record<string, unknown>;
  readonly permissionPolicy?: GatewayConfig['opencode']['permission_policy'];
  /** An OpenCode server the gateway does not run (`opencode.url`), and its password. */
  readonly openCodeServer?: { readonly url: string; readonly password: string };
  /** `opencode.run_as` (default: the shipped configuration's). */
  readonly runAs?: string;
  readonly maxProviderRetries?: number;
  readonly deployment?: Partial<GatewayConfig['deployment']>;
  readonly routing?: Partial<GatewayConfig['routing']>;
  readonly kubernetes?: Partial<GatewayConfig['kubernetes']>;
  /** A kubeconfig's text (the fake API server's), written to a file the gateway reads as KUBECONFIG. */
  readonly kubeconfig?: string;
  readonly bundleSecret?: string;
  /** Slack's signing secret, for POST /api/slack/interactions. */
  readonly slackSigningSecret?: string;
  /** How often durable deadlines are checked (default 1000 ms). */
  readonly deadlineIntervalMs?: number;
  readonly deadlineClock?: () => Date;
  /** The embedded log's disk reserve (default 0: never short). */
  readonly minFreeBytes?: number;
  /** Where the embedded log lives (default: a folder of the test's own), e.g. on a small disk. */
  readonly eventsDir?: string;
  readonly server?: Partial<GatewayConfig['server']>;
  /** Where the gateway logs (default: nowhere), for a test that reads its log lines. */
  readonly logger?: Logger;
}

/** A real repository with one commit under the repos root, for the workspace manager to use. */
export const makeRepo = async (reposRoot: string, name: string): Promise<string> => {
  const path = join(reposRoot, name);
  await simpleGit().raw(['init', '-q', '-b', 'main', path]);
  await writeFile(join(path, 'README.md'), `# ${name}\n`);
  await simpleGit(path).add('.');
  await simpleGit(path).raw([
    '-c',
    'user.name=Test',
    '-c',
    'user.email=test@example.com',
    'commit',
    '-q',
    '-m',
    'init',
  ]);
  return path;
};

/**
 * The whole gateway as `npm start` wires it, on the embedded log and workspace folders in a
 * temporary directory, with the given tokens and repositories.
 */
export const startTestGateway = async (t: ExecutionContext, options: TestGatewayOptions): Promise<TestGateway> => {
  const dir = await mkdtemp(join(tmpdir(), 'test-gateway-'));
  const loaded = loadConfig({
    env: {
      GATEWAY_DATA_DIR: dir,
      GATEWAY_WORKSPACE: dir,
      PORT: '0',
      GATEWAY_TOKENS: options.tokens,
      ...(options.webhookSecret ? { GATEWAY_WEBHOOK_SECRET: options.webhookSecret } : {}),
    },
  });
  if (E.isLeft(loaded)) throw new Error(formatConfigError(loaded.left));
  const kubeconfig = options.kubeconfig === undefined ? undefined : join(dir, 'kubeconfig.yaml');
  if (kubeconfig) await writeFile(kubeconfig, options.kubeconfig!);
  const config: GatewayConfig = {
    ...loaded.right,
    // Tests poll the API often; the limits themselves are tested in test/api/rate-limit.test.ts.
    server: { ...loaded.right.server, rate_limit_per_minute: 1_000_000, ...options.server },
    kubeconfig,
    secrets: {
      ...loaded.right.secrets,
      bundleSecret: options.bundleSecret ?? 'bundle-secret-for-tests',
      slackSigningSecret: options.slackSigningSecret,
      opencodePassword: options.openCodeServer?.password,
    },
    deployment: { ...loaded.right.deployment, ...options.deployment },
    // The signals alone, unless a test asks for the labelled examples: tests about sessions and
    // webhooks need a task whose route is sure or unsure by its words, whatever the examples
    // hold; the examples' own tests (test/routing/examples*.test.ts) turn them on.
    routing: { ...loaded.right.routing, examples_files: [], ...options.routing },
    kubernetes: { ...loaded.right.kubernetes, ...options.kubernetes },
    event_store: {
      type: 'embedded',
      data_dir: options.eventsDir ?? join(dir, 'events'),
      min_free_bytes: options.minFreeBytes ?? 0,
    },
    workspace: { ...loaded.right.workspace, ...options.workspace },
    webhooks: { ...loaded.right.webhooks, ...options.webhooks },
    opencode: {
      ...loaded.right.opencode,
      enabled: options.opencode !== undefined,
      config: options.opencode ?? {},
      permission_policy: options.permissionPolicy ?? loaded.right.opencode.permission_policy,
      max_provider_retries: options.maxProviderRetries ?? loaded.right.opencode.max_provider_retries,
      url: options.openCodeServer?.url ?? '',
      run_as: options.runAs ?? loaded.right.opencode.run_as,
    },
  };
  const reposRoot = config.workspace.repos_root;
  for (const repo of options.repos ?? []) await makeRepo(reposRoot, repo);
  let current: Gateway | undefined;
  const start = async (): Promise<TestGateway> => {
    const gateway = await startGateway(config, {
      logger: options.logger ?? pino({ level: 'silent' }),
      ...(options.deadlineIntervalMs === undefined ? {} : { deadlineIntervalMs: options.deadlineIntervalMs }),
      ...(options.deadlineClock ? { deadlineClock: options.deadlineClock } : {}),
    });
    current = gateway;
    return {
      ...gateway,
      reposRoot,
      config,
      restart: async () => {
        await gateway.stop();
        return start();
      },
    };
  };
  t.teardown(async () => {
    await current?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return start();
};
