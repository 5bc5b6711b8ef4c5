import { resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import pino, { type Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { deploymentViews, type DeploymentView } from './deployments/deployment-view.js';
import { namespaceViews } from './labs/namespace-view.js';
import { failedWebhooks } from './notifications/failed-webhooks-view.js';
import { createAgents, type Agents } from './agents/agents.js';
import { openCodeServerEventDefinitions } from './agents/events.js';
import { logSummary } from '../projections/log-summary.js';
import { sessionViews } from './sessions/session-view.js';
import { streamCatalog } from '../projections/stream-catalog.js';
import { createApp } from './api/app.js';
import { GatewayMetrics, instrumentEventStore } from './api/metrics.js';
import { startServer, type RunningServer } from './api/server.js';
import { SseHub } from './api/sse.js';
import { commandEventDefinitions } from './commands/events.js';
import { idempotency, idempotentCommands } from './api/middleware/idempotency.js';
import { openIdempotencyStore } from './commands/idempotency-store.js';
import { buildOpenApiDocument, takesIdempotencyKey } from './openapi/document.js';
import { rolesFor } from './api/middleware/auth.js';
import type { GatewayConfig } from './config/schema.js';
import { authenticate } from './config/tokens.js';
import { deploymentDecider } from './deployments/decide.js';
import { deploymentEventDefinitions, deploymentStream } from './deployments/events.js';
import { deploymentExecutor, executorEffects } from './deployments/executor.js';
import { deploymentRoutes } from './deployments/routes.js';
import { bundleRoutes } from './labs/bundle-route.js';
import { BundleStore } from './labs/bundle-store.js';
import { kubernetesCluster, loadKubeConfig } from './labs/cluster.js';
import { namespaceDecider } from './labs/namespace.js';
import { namespaceEventDefinitions, namespaceStream } from './labs/namespace-events.js';
import { namespaceKeeper, namespaceKeeperEffects } from './labs/namespace-keeper.js';
import { namespaceRoutes } from './labs/routes.js';
import { slackRoutes } from './slack/routes.js';
import { auditRoutes } from './audit/routes.js';
import { deploymentNews, deploymentNewsEffects } from './deployments/session-news.js';
import { DeadlineTimer } from './process-managers/deadline-timer.js';
import { PodsWatcher } from './deployments/pods-watcher.js';
import { CommitFilesCache } from './deployments/commit-files-cache.js';
import { podSelectorOf } from './labs/manifests.js';
import { DiskReserve } from './eventstore/embedded/free-space.js';
import { openEmbeddedEventStore } from './eventstore/embedded/index.js';
import { admitNewWorkWhileRoom } from './api/new-work-gate.js';
import { openEventStoreDb } from './eventstore/eventstoredb/index.js';
import type { EventStore } from './eventstore/port.js';
import { EventLog } from './events/event-log.js';
import { EventRegistry } from './events/registry.js';
import { webhookEventDefinitions } from './notifications/events.js';
import { notifier, notifierEffects } from './notifications/notifier.js';
import { webhookRoutes } from './notifications/routes.js';
import { scheduledRetriesDue } from './notifications/parked-retries.js';
import { processManagerEventDefinitions } from './process-managers/events.js';
import { ProcessManagerGroup } from './process-managers/group.js';
import { ProcessManagerRunner } from './process-managers/runtime.js';
import { DEFAULT_WORKSPACE_ATTEMPTS, workspaceEffects, workspaceManager } from './workspaces/workspace-manager.js';
import { cloneSettingsFrom } from './workspaces/clone.js';
import { repoUrlVerdict } from './workspaces/url-policy.js';
import { DocumentProjectionRunner, ProjectionRunner } from './projections/runtime.js';
import { routingRoutes } from './routing/routes.js';
import { builderEventDefinitions } from './sessions/builder.js';
import { builderReleaser } from './sessions/builder-release.js';
import { sessionEventDefinitions } from './sessions/events.js';
import { sessionRoutes } from './sessions/routes.js';
import { loadRoutingSignals } from './routing/signals.js';

export interface Gateway {
  readonly url: string;
  readonly eventLog: EventLog;
  /** The OpenCode server and bridge, when `opencode.enabled`. */
  readonly agents: Agents | undefined;
  /** Graceful: stop accepting, end SSE, finish in-flight requests, stop runtimes, close the store. */
  stop(): Promise<void>;
}

/** Tries of a deployment step that fails for a passing reason before the deployment fails. */
const EXECUTION_ATTEMPTS = 5;

/** Every event type the gateway knows; capabilities add theirs here. */
export const createEventRegistry = (): EventRegistry =>
  new EventRegistry([
    ...commandEventDefinitions,
    ...processManagerEventDefinitions,
    ...sessionEventDefinitions,
    ...builderEventDefinitions,
    ...webhookEventDefinitions,
    ...openCodeServerEventDefinitions,
    ...deploymentEventDefinitions,
    ...namespaceEventDefinitions,
  ]);

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

/** The composition root: the one place that wires configuration, store, runtimes and HTTP. */
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
  const signals = loadRoutingSignals(resolve(cwd, config.routing.signals_file));
  if (E.isLeft(signals)) throw new Error(signals.left);
  // Repository URLs (before the store opens: a missing credential stops start-up): the policy a request is checked against, and again the clone; git's credentials read from the environment once, kept in memory.
  const cloneSettings = cloneSettingsFrom(config.workspace, process.env);
  const urlPolicy = {
    reposRoot: resolve(cwd, config.workspace.repos_root),
    allowedPatterns: cloneSettings.allowedPatterns,
    allowPrivateAddresses: cloneSettings.allowPrivateAddresses,
  };
  const logger = options.logger ?? pino({ base: { service: 'ai-dev-gateway' }, redact: ['req.headers.authorization'] });
  const metrics = new GatewayMetrics();
  const store = instrumentEventStore(await openStore(config, cwd, logger), metrics);
  // Idempotency-Key records beside the log, not in it: they expire and their number is bounded.
  const idempotencyRecords = openIdempotencyStore({
    path: join(resolve(cwd, config.data_dir), 'idempotency.sqlite'),
    ttlMs: config.idempotency.ttl * 1000,
    maxKeys: config.idempotency.max_keys,
  });
  const runOnce = idempotency(idempotencyRecords);
  // The room kept on the embedded log's disk for work under way (EventStoreDB keeps its own).
  const reserve =
    config.event_store.type === 'embedded'
      ? new DiskReserve(resolve(cwd, config.event_store.data_dir), config.event_store.min_free_bytes)
      : undefined;
  if (reserve) metrics.watchFreeBytes(() => reserve.freeBytes());
  const admitNewWork = reserve ? admitNewWorkWhileRoom(() => reserve.shortfall()) : undefined;
  const eventLog = new EventLog(store, createEventRegistry());
  const runtimeOptions = {
    eventLog,
    maxConcurrency: config.process_managers.max_concurrency,
    onReaction: metrics.reportReaction,
    onLag: metrics.reportLag,
    onError: (name: string, error: unknown) => logger.error({ err: error, subscriber: name }, 'subscriber failed'),
  };
  const sessionViewRunner = new DocumentProjectionRunner(sessionViews, runtimeOptions);
  const failedWebhookRunner = new DocumentProjectionRunner(failedWebhooks, runtimeOptions);
  const deploymentViewRunner = new DocumentProjectionRunner(deploymentViews, runtimeOptions);
  const namespaceViewRunner = new DocumentProjectionRunner(namespaceViews, runtimeOptions);
  // The cluster of the labs: KUBECONFIG, else in-cluster or ~/.kube/config. Without any, deployments fail at their first step, saying why.
  const kubeConfigured =
    config.kubeconfig !== undefined ||
    process.env['KUBERNETES_SERVICE_HOST'] !== undefined ||
    existsSync(join(homedir(), '.kube', 'config'));
  const cluster = kubernetesCluster(loadKubeConfig(config.kubeconfig));
  const bundles = new BundleStore(join(config.data_dir, 'bundles'));
  // What a plan read of a commit, its deployment's steps read again: once from git.
  const commitFiles = new CommitFilesCache();
  // Without GATEWAY_BUNDLE_SECRET the URLs are signed with a key that lives as long as this process.
  const bundleSecret = config.secrets.bundleSecret ?? randomBytes(32).toString('hex');
  /** A lab deleted since (or being deleted) has no URL any more. */
  const present = (view: DeploymentView): DeploymentView =>
    view.url !== null && namespaceViewRunner.get(view.plan.namespace)?.status !== 'live'
      ? { ...view, url: null }
      : view;
  const agents = config.opencode.enabled ? createAgents(config, { eventLog, logger, cwd, runtimeOptions }) : undefined;
  const projections = [
    new DocumentProjectionRunner(streamCatalog, runtimeOptions),
    new ProjectionRunner(logSummary, runtimeOptions),
    sessionViewRunner,
    failedWebhookRunner,
    deploymentViewRunner,
    namespaceViewRunner,
    ...(agents ? [agents.projection] : []),
  ];
  const processManagers = new ProcessManagerGroup([
    new ProcessManagerRunner({
      ...runtimeOptions,
      processManager: workspaceManager,
      effects: workspaceEffects({
        basePath: resolve(cwd, config.workspace.base_path),
        reposRoot: resolve(cwd, config.workspace.repos_root),
        eventLog,
        task: {
          cli: config.workspace.task_cli,
          taskfile: resolve(cwd, config.workspace.taskfile_path),
          mode: config.workspace.task_init,
          timeoutMs: config.workspace.task_timeout * 1000,
        },
        clone: cloneSettings,
        attempts: DEFAULT_WORKSPACE_ATTEMPTS,
      }),
      // A workspace that fails for a reason that may pass (a git lock, EAGAIN) is tried again for about 15 s, then the session fails saying why.
      retry: { attempts: DEFAULT_WORKSPACE_ATTEMPTS, initialDelayMs: 1000, factor: 2, maxDelayMs: 8000 },
    }),
    new ProcessManagerRunner({ ...runtimeOptions, processManager: builderReleaser, effects: {} }),
    new ProcessManagerRunner({
      ...runtimeOptions,
      processManager: notifier,
      effects: notifierEffects({
        eventLog,
        url: config.webhooks.slack_url,
        secret: config.secrets.webhookSecret ?? '',
        attempts: config.webhooks.retry_attempts + 1,
      }),
      // The contract's retries: `retry_attempts` more tries, the waits growing from `retry_delay`.
      retry: {
        attempts: config.webhooks.retry_attempts + 1,
        initialDelayMs: config.webhooks.retry_delay,
        factor: 2,
        maxDelayMs: 5 * 60_000,
      },
    }),
    new ProcessManagerRunner({
      ...runtimeOptions,
      processManager: deploymentNews,
      effects: deploymentNewsEffects({ eventLog }),
    }),
    new ProcessManagerRunner({
      ...runtimeOptions,
      processManager: deploymentExecutor,
      effects: executorEffects({
        eventLog,
        commitFiles,
        cluster,
        bundles,
        settings: {
          ingressClass: config.kubernetes.ingress_class,
          clusterIssuer: config.kubernetes.cluster_issuer,
          storageClass: config.kubernetes.storage_class || null,
          fetchImage: config.kubernetes.fetch_image,
        },
        ingressDomain: config.kubernetes.ingress_domain,
        maxConfigMapSize: config.deployment.max_configmap_size,
        bundleBaseUrl: config.kubernetes.bundle_base_url,
        bundleSecret,
        bundleUrlTtl: config.kubernetes.bundle_url_ttl,
        testTimeoutMs: config.deployment.test_timeout * 1000,
        testUrl: config.deployment.test_url,
        artifactsDir: join(config.data_dir, 'artifacts'),
        attempts: EXECUTION_ATTEMPTS,
      }),
      retry: { attempts: EXECUTION_ATTEMPTS, initialDelayMs: 500, factor: 2, maxDelayMs: 10_000 },
    }),
    new ProcessManagerRunner({
      ...runtimeOptions,
      processManager: namespaceKeeper,
      effects: namespaceKeeperEffects({ cluster }),
    }),
    ...(agents ? [agents.processManager] : []),
  ]);
  /** Deployments at their pods_ready step, as the views show them (the session names the project the pods are labelled with). */
  const waitingForPods = () =>
    [...deploymentViewRunner.getState().values()].filter(
      (view) =>
        view.status === 'deploying' &&
        view.steps.some((step) => step.name === 'pods_ready' && step.status === 'running'),
    );
  const podsWatcher = new PodsWatcher({
    eventLog,
    cluster,
    onError: (error) => logger.error({ err: error }, 'pods watch failed'),
    viewsAt: (position) => deploymentViewRunner.waitForPosition(position, 10_000),
    waiting: () =>
      waitingForPods().flatMap((view) => {
        const project = sessionViewRunner.get(view.session_id)?.project;
        return project === undefined
          ? []
          : [
              {
                deploymentId: view.deployment_id,
                namespace: view.plan.namespace,
                selector: podSelectorOf(project, view.deployment_id),
              },
            ];
      }),
  });
  const podsTimeout = config.kubernetes.pods_ready_timeout;
  // Durable deadlines: a plan nobody answered expires, pods not ready in time fail their step, after a restart too.
  const deadlines = new DeadlineTimer({
    eventLog,
    intervalMs: options.deadlineIntervalMs,
    ...(options.deadlineClock ? { clock: options.deadlineClock } : {}),
    onError: (error) => logger.error({ err: error }, 'deadline failed'),
    due: (now) => [
      ...[...deploymentViewRunner.getState().values()]
        .filter(
          (view) =>
            view.status === 'awaiting_confirmation' &&
            view.expires_at !== null &&
            Date.parse(view.expires_at) <= now.getTime(),
        )
        .map((view) => ({
          key: `expire:${view.deployment_id}`,
          stream: deploymentStream(view.deployment_id),
          decider: deploymentDecider,
          command: { type: 'ExpireDeployment', now },
        })),
      ...waitingForPods()
        .filter(
          (view) =>
            Date.parse(view.steps.find((step) => step.name === 'pods_ready')?.started_at ?? '') + podsTimeout * 1000 <=
            now.getTime(),
        )
        .map((view) => ({
          key: `pods-timeout:${view.deployment_id}`,
          stream: deploymentStream(view.deployment_id),
          decider: deploymentDecider,
          command: { type: 'TimeOutPods', timeoutSeconds: podsTimeout, now },
        })),
      // A failed deletion is tried again when its pause is over (the decider knows when; early firing is a no-op).
      ...[...namespaceViewRunner.getState().values()]
        .filter((view) => view.status === 'deleting' && view.deletion_error !== null)
        .map((view) => ({
          key: `retry-delete:${view.name}`,
          stream: namespaceStream(view.name),
          decider: namespaceDecider,
          command: { type: 'RetryNamespaceDeletion', now },
        })),
      ...[...namespaceViewRunner.getState().values()]
        .filter(
          (view) =>
            view.status === 'live' &&
            view.deletion_scheduled_for !== null &&
            Date.parse(view.deletion_scheduled_for) <= now.getTime(),
        )
        .map((view) => ({
          key: `delete:${view.name}`,
          stream: namespaceStream(view.name),
          decider: namespaceDecider,
          command: { type: 'RequestNamespaceDeletion', requestedBy: 'timer', due: true, now },
        })),
      // Parked webhooks, sent again every parked_retry_interval for parked_retry_for (none while webhooks are off).
      ...(config.webhooks.slack_url === ''
        ? []
        : scheduledRetriesDue(failedWebhookRunner.getState().values(), now, {
            intervalMs: config.webhooks.parked_retry_interval * 1000,
            forMs: config.webhooks.parked_retry_for * 1000,
          })),
    ],
  });
  const sse = new SseHub({ keepaliveMs: options.sseKeepaliveMs });
  let server: RunningServer | undefined;
  try {
    for (const projection of projections) await projection.start();
    await agents?.start();
    await processManagers.start();
    deadlines.start();
    podsWatcher.start();
    const app = createApp({
      openApiDocument: buildOpenApiDocument(),
      logger,
      authenticate: (token) => authenticate(config.auth.tokens, token),
      metrics,
      liveness: () => store.fatalError(),
      checks: {
        event_store: () => store.checkHealth(),
        ...(reserve ? { disk: () => failWith(reserve.shortfall()) } : {}),
        ...(agents ? { opencode: () => agents.server.health() } : {}),
        ...(kubeConfigured ? { kubernetes: () => cluster.health() } : {}),
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
      routers: [
        routingRoutes(signals.right),
        sessionRoutes({
          eventLog,
          views: sessionViewRunner,
          sse,
          signals: signals.right,
          autoConfirmConfidence: config.routing.auto_confirm_confidence,
          admitNewWork,
          checkRepoUrl: (url) => repoUrlVerdict(url, urlPolicy),
        }),
        webhookRoutes({ eventLog, failed: failedWebhookRunner }),
        deploymentRoutes({
          eventLog,
          commitFiles,
          views: deploymentViewRunner,
          sessions: sessionViewRunner,
          ingressDomain: config.kubernetes.ingress_domain,
          maxConfigMapSize: config.deployment.max_configmap_size,
          confirmationTimeout: config.deployment.confirmation_timeout,
          present,
          sse,
          admitNewWork,
        }),
        namespaceRoutes({ eventLog, views: namespaceViewRunner }),
        auditRoutes({ store: eventLog.store }),
        slackRoutes({
          eventLog,
          signingSecret: config.secrets.slackSigningSecret,
          sessions: sessionViewRunner,
          deployments: deploymentViewRunner,
          present,
          runOnce,
        }),
        bundleRoutes({ store: bundles, secret: bundleSecret }),
      ],
      // Bearer-token commands only: a Slack interaction's key is looked at once its signature is verified.
      commandMiddleware: [
        idempotentCommands(
          runOnce,
          (method, path) => takesIdempotencyKey(method, path) && rolesFor(method, path) !== 'slack-signature',
        ),
      ],
    });
    server = await startServer(app, { host: config.server.host, port: config.server.port });
  } catch (error) {
    await deadlines.stop();
    await podsWatcher.stop();
    await processManagers.stop();
    await agents?.stop();
    await Promise.all(projections.map((projection) => projection.stop()));
    await store.close();
    idempotencyRecords.close();
    throw error;
  }
  const running = server;
  let stopping: Promise<void> | undefined;
  return {
    url: running.url,
    eventLog,
    agents,
    stop: () =>
      (stopping ??= (async () => {
        await running.close({ beforeDrain: () => sse.close() });
        await deadlines.stop();
        await podsWatcher.stop();
        await processManagers.stop();
        await agents?.stop();
        await Promise.all(projections.map((projection) => projection.stop()));
        await store.close();
        idempotencyRecords.close();
      })()),
  };
};

/** A readiness check from a reason that may be missing: fails with it when there is one. */
const failWith = async (reason: Promise<string | undefined>): Promise<void> => {
  const why = await reason;
  if (why !== undefined) throw new Error(why);
};
