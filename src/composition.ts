import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { agentsCapability } from './agents/capability.js';
import type { Agents } from './agents/agents.js';
import { createApp } from './api/app.js';
import { GatewayMetrics, instrumentEventStore } from './api/metrics.js';
import { rolesFor } from './api/middleware/auth.js';
import { idempotency, idempotentCommands, type RunOnce } from './api/middleware/idempotency.js';
import { admitNewWorkWhileRoom } from './api/new-work-gate.js';
import { startServer, type RunningServer } from './api/server.js';
import { SseHub } from './api/sse.js';
import { CAPABILITIES, createEventRegistry } from './capabilities.js';
import { assembleCapabilities } from './capability/assemble.js';
import { openIdempotencyStore } from './commands/idempotency-store.js';
import type { GatewayConfig } from './config/schema.js';
import { authenticate } from './config/tokens.js';
import { EventLog } from './events/event-log.js';
import { agentUserOf, keepGatewayStateFromAgent, type AgentUser } from './shared/agent-user.js';
import { DiskReserve } from './eventstore/embedded/free-space.js';
import { openEmbeddedEventStore } from './eventstore/embedded/index.js';
import { openEventStoreDb } from './eventstore/eventstoredb/index.js';
import type { EventStore } from './eventstore/port.js';
import { buildOpenApiDocument, takesIdempotencyKey } from './openapi/document.js';
import { DeadlineTimer } from './process-managers/deadline-timer.js';
import { ProcessManagerGroup } from './process-managers/group.js';
import { createLogger } from './shared/logger.js';

export interface Gateway {
  readonly url: string;
  readonly eventLog: EventLog;
  /** The OpenCode server and bridge, when `opencode.enabled`. */
  readonly agents: Agents | undefined;
  /** Graceful: stop accepting, end SSE, finish in-flight requests, stop runtimes, close the store. */
  stop(): Promise<void>;
}

const openStore = (config: GatewayConfig, cwd: string, logger: Logger): Promise<EventStore> => {
  const store = config.event_store;
  switch (store.type) {
    case 'embedded':
      return openEmbeddedEventStore({
        dataDir: resolve(cwd, store.data_dir),
        onWriteState: ({ status, error }) => {
          if (status === 'recovered') logger.info('the event log writes again');
          else if (status === 'failing')
            logger.warn({ err: error }, 'the event log failed to write; it retries on its own');
          else
            logger.error(
              { err: error },
              'the event log lost acknowledged records; the gateway needs a restart and a person',
            );
        },
      });
    case 'eventstoredb':
      return openEventStoreDb(store.connection_string);
    default: {
      const unknown: never = store;
      throw new Error(`unknown event store ${JSON.stringify(unknown)}`);
    }
  }
};

/** The agent's own user, when it has one, and what it may not reach made so (the README's threat model). */
const separateTheAgent = async (config: GatewayConfig, cwd: string): Promise<AgentUser | undefined> => {
  const agentUser = agentUserOf(config.opencode);
  if (!agentUser) return undefined;
  const dataDir = resolve(cwd, config.data_dir);
  await keepGatewayStateFromAgent(agentUser, {
    dataDir,
    privateFolders: [
      ...(config.event_store.type === 'embedded' ? [resolve(cwd, config.event_store.data_dir)] : []),
      resolve(cwd, config.workspace.repos_root),
      // Made later by the labs (code bundles) and the tests (reports): private before they exist.
      join(dataDir, 'bundles'),
      join(dataDir, 'artifacts'),
    ],
    agentFolders: [resolve(cwd, config.workspace.base_path), resolve(cwd, config.opencode.sessions_dir)],
  });
  return agentUser;
};

/**
 * The composition root, read top to bottom like Koa's `use()` list: open the store, create every
 * capability of CAPABILITIES, start their views, services and process managers, serve. What a
 * capability does lives in its folder (`src/<capability>/capability.ts`); here is only the plumbing.
 */
export const startGateway = async (
  config: GatewayConfig,
  options: {
    logger?: Logger;
    cwd?: string;
    sseKeepaliveMs?: number;
    deadlineIntervalMs?: number;
    /** The deadline timer's clock (tests move it forward to fire a deadline days away). */
    deadlineClock?: () => Date;
  } = {},
): Promise<Gateway> => {
  const cwd = options.cwd ?? process.cwd();
  const logger = options.logger ?? createLogger();
  // In k8s/ the agent's container shares the gateway's group, and nothing else does.
  if (config.workspace.group_writable) process.umask(0o002);
  const metrics = new GatewayMetrics();
  const store = instrumentEventStore(await openStore(config, cwd, logger), metrics);
  // Idempotency-Key records beside the log, not in it: they expire and their number is bounded.
  const idempotencyRecords = openIdempotencyStore({
    path: join(resolve(cwd, config.data_dir), 'idempotency.sqlite'),
    ttlMs: config.idempotency.ttl * 1000,
    maxKeys: config.idempotency.max_keys,
  });
  const runOnce = idempotency(idempotencyRecords);
  // After the log and the idempotency records exist: they are made private with the rest.
  const agentUser = await separateTheAgent(config, cwd);
  // The room kept on the embedded log's disk for work under way (EventStoreDB keeps its own).
  const reserve =
    config.event_store.type === 'embedded'
      ? new DiskReserve(resolve(cwd, config.event_store.data_dir), config.event_store.min_free_bytes)
      : undefined;
  if (reserve) metrics.watchFreeBytes(() => reserve.freeBytes());
  const eventLog = new EventLog(store, createEventRegistry());
  const runtimeOptions = {
    eventLog,
    maxConcurrency: config.process_managers.max_concurrency,
    onReaction: metrics.reportReaction,
    onLag: metrics.reportLag,
    onError: (name: string, error: unknown) => logger.error({ err: error, subscriber: name }, 'subscriber failed'),
  };
  const sse = new SseHub({ keepaliveMs: options.sseKeepaliveMs });
  let started: Started | undefined;
  let server: RunningServer | undefined;
  try {
    const assembled = assembleCapabilities(CAPABILITIES, config, {
      cwd,
      eventLog,
      logger,
      runtimeOptions,
      sse,
      admitNewWork: reserve ? admitNewWorkWhileRoom(() => reserve.shortfall()) : undefined,
      runOnce,
      agentUser,
    });
    started = runCapabilities(assembled, { eventLog, logger, ...options });
    await started.start();
    const app = createGatewayApp(config, { logger, metrics, store, reserve, runOnce, assembled });
    server = await startServer(app, { host: config.server.host, port: config.server.port });
  } catch (error) {
    await started?.stop();
    await store.close();
    idempotencyRecords.close();
    throw error;
  }
  const running = { server, started };
  let stopping: Promise<void> | undefined;
  return {
    url: running.server.url,
    eventLog,
    agents: running.started.agents,
    stop: () =>
      (stopping ??= (async () => {
        await running.server.close({ beforeDrain: () => sse.close() });
        await running.started.stop();
        await store.close();
        idempotencyRecords.close();
      })()),
  };
};

type Assembled = ReturnType<typeof assembleCapabilities>;

/** What is running once the capabilities are created: started views first, stopped in the reverse order. */
interface Started {
  readonly agents: Agents | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The capabilities' views, services and process managers, and the deadline timer that asks each capability what is due. */
const runCapabilities = (
  { capabilities, views, shared }: Assembled,
  options: {
    eventLog: EventLog;
    logger: Logger;
    deadlineIntervalMs?: number;
    deadlineClock?: () => Date;
  },
): Started => {
  const processManagers = new ProcessManagerGroup(
    capabilities.flatMap((capability) => capability.processManagers ?? []),
  );
  const services = capabilities.flatMap((capability) => capability.services ?? []);
  // Durable deadlines, each capability's read from its views: they fire after a restart too.
  const deadlines = new DeadlineTimer({
    eventLog: options.eventLog,
    intervalMs: options.deadlineIntervalMs,
    ...(options.deadlineClock ? { clock: options.deadlineClock } : {}),
    onError: (error) => options.logger.error({ err: error }, 'deadline failed'),
    due: (now) => capabilities.flatMap((capability) => capability.due?.(now) ?? []),
  });
  return {
    agents: shared.use(agentsCapability).agents,
    start: async () => {
      for (const view of views) await view.start();
      for (const service of services) await service.start();
      await processManagers.start();
      deadlines.start();
    },
    stop: async () => {
      await deadlines.stop();
      await processManagers.stop();
      for (const service of [...services].reverse()) await service.stop();
      await Promise.all(views.map((view) => view.stop()));
    },
  };
};

/** The HTTP edge: the served contract, the service's checks and limits, and every capability's routes. */
const createGatewayApp = (
  config: GatewayConfig,
  deps: {
    logger: Logger;
    metrics: GatewayMetrics;
    store: EventStore;
    reserve: DiskReserve | undefined;
    runOnce: RunOnce;
    assembled: Assembled;
  },
) => {
  const { store, reserve, runOnce } = deps;
  const { capabilities } = deps.assembled;
  return createApp({
    openApiDocument: buildOpenApiDocument(),
    logger: deps.logger,
    authenticate: (token) => authenticate(config.auth.tokens, token),
    metrics: deps.metrics,
    liveness: () => store.fatalError(),
    checks: {
      event_store: () => store.checkHealth(),
      ...(reserve ? { disk: () => failWith(reserve.shortfall()) } : {}),
      ...Object.fromEntries(capabilities.flatMap((capability) => Object.entries(capability.checks ?? {}))),
    },
    corsOrigins: config.server.cors_origins,
    bodyLimitBytes: config.server.body_limit,
    rateLimits: {
      perToken: config.server.rate_limit_per_minute,
      perAddress: config.server.anonymous_rate_limit_per_minute,
    },
    bounds: {
      maxPathLength: config.server.max_path_length,
      maxQueryLength: config.server.max_query_length,
      maxQueryParams: config.server.max_query_params,
      maxHeaders: config.server.max_headers,
      maxJsonDepth: config.server.max_json_depth,
    },
    routers: capabilities.flatMap((capability) => capability.routers ?? []),
    // Bearer-token commands only: a Slack interaction's key is looked at once its signature is verified.
    commandMiddleware: [
      idempotentCommands(
        runOnce,
        (method, path) => takesIdempotencyKey(method, path) && rolesFor(method, path) !== 'slack-signature',
      ),
    ],
  });
};

/** A readiness check from a reason that may be missing: fails with it when there is one. */
const failWith = async (reason: Promise<string | undefined>): Promise<void> => {
  const why = await reason;
  if (why !== undefined) throw new Error(why);
};
