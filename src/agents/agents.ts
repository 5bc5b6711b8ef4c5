import { resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Logger } from 'pino';
import type { AgentSessionView } from './agent-session-view.js';
import type { GatewayConfig } from '../config/schema.js';
import type { EventLog } from '../events/event-log.js';
import { ProcessManagerRunner } from '../process-managers/runner.js';
import type { DocumentProjectionRunner } from '../projections/runner.js';
import { AgentReconciler } from './agent-reconciler.js';
import { agentBridge, agentBridgeEffects, type AgentEffect } from './bridge-process.js';
import { HOW_TO_CONFIGURE_A_MODEL, modelConfigured, openCodeConfigContent } from './opencode-config.js';
import { OpenCodeServer, type OpenCodeHost } from './opencode-server.js';
import { RemoteOpenCodeServer } from './remote-opencode.js';
import type { AgentUser } from '../shared/agent-user.js';
import { loadPersonas } from './personas.js';

/** What the composition root wires for agents: the OpenCode server, the bridge and its reconciler. */
export interface Agents {
  readonly processManager: ProcessManagerRunner<AgentEffect>;
  readonly projection: DocumentProjectionRunner<AgentSessionView>;
  readonly server: OpenCodeHost;
  readonly reconciler: AgentReconciler;
  /** Starts the OpenCode server (a failure leaves the gateway up, degraded, and keeps retrying) and the reconciler. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export const createAgents = (
  config: GatewayConfig,
  options: {
    eventLog: EventLog;
    logger: Logger;
    cwd: string;
    runtimeOptions: { onLag?: (name: string, lag: number) => void; onError?: (name: string, error: unknown) => void };
    /** The running view of the agents' OpenCode sessions. */
    projection: DocumentProjectionRunner<AgentSessionView>;
    /** Whom the gateway's own OpenCode runs as (`opencode.run_as` when the gateway is root). */
    agentUser: AgentUser | undefined;
  },
): Agents => {
  const personas = loadPersonas(resolve(options.cwd, config.opencode.personas_dir));
  if (E.isLeft(personas)) throw new Error(personas.left);
  const server: OpenCodeHost =
    config.opencode.url === ''
      ? new OpenCodeServer({
          cliPath: resolve(options.cwd, config.opencode.cli_path),
          stateDir: resolve(options.cwd, config.opencode.sessions_dir),
          configContent: openCodeConfigContent(config.opencode.config, personas.right),
          eventLog: options.eventLog,
          logger: options.logger,
          user: options.agentUser,
        })
      : new RemoteOpenCodeServer({
          url: config.opencode.url,
          password: config.secrets.opencodePassword ?? '',
          logger: options.logger,
        });
  const projection = options.projection;
  const reconciler = new AgentReconciler({
    eventLog: options.eventLog,
    endpoint: () => server.endpoint,
    sessionOf: (opencodeSessionId) => projection.get(opencodeSessionId)?.session_id,
    liveSessions: () => [...projection.getState().values()].map((view) => view.session_id),
    policy: {
      permissions: config.opencode.permission_policy,
      maxProviderRetries: config.opencode.max_provider_retries,
    },
    logger: options.logger,
  });
  const processManager = new ProcessManagerRunner({
    eventLog: options.eventLog,
    ...options.runtimeOptions,
    processManager: agentBridge,
    onReaction: (name, key, outcome) => options.logger.debug({ process_manager: name, key, outcome }, 'reaction'),
    effects: agentBridgeEffects({
      eventLog: options.eventLog,
      endpoint: () => server.endpoint,
      reconcile: (sessionId) => reconciler.reconcile(sessionId),
    }),
    // OpenCode may be restarting, or slow to start on a busy machine: keep trying for about five minutes.
    retry: { attempts: 14, initialDelayMs: 250, factor: 2, maxDelayMs: 30_000 },
  });
  return {
    processManager,
    projection,
    server,
    reconciler,
    start: async () => {
      sayWhoTheAgentIs(config.opencode.url, options.agentUser, options.logger);
      if (!modelConfigured(config.opencode.config)) options.logger.warn(HOW_TO_CONFIGURE_A_MODEL);
      await server
        .start()
        .catch((error: unknown) =>
          options.logger.error({ err: error }, 'OpenCode did not start; the gateway runs without agents until it does'),
        );
      reconciler.start();
    },
    stop: async () => {
      await reconciler.stop();
      await server.stop();
    },
  };
};

/** Said once, at start: whose rights the agent's shell commands have (the README's threat model). */
const sayWhoTheAgentIs = (url: string, user: AgentUser | undefined, logger: Logger): void => {
  if (url !== '')
    logger.info({ url }, "the agent (OpenCode) runs in a server of its own, with none of the gateway's credentials");
  else if (user)
    logger.info(
      { uid: user.uid, gid: user.gid },
      'the agent (OpenCode) runs as its own user: it cannot read the data folder, the event log or the clones',
    );
  else
    logger.warn(
      { uid: process.getuid?.() },
      "the agent (OpenCode) runs as the gateway's own user: its shell commands can read the data folder, the event log and the gateway's files (see the README's threat model)",
    );
};
