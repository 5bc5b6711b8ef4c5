import { documentsView, type Capability, type CapabilityModule } from '../capability/capability.js';
import { agentSessions } from './agent-session-view.js';
import { createAgents, type Agents } from './agents.js';
import { modelConfigured, NO_MODEL } from './opencode-config.js';
import { openCodeServerEventDefinitions } from './events.js';
import { routeOpinion } from './route-opinion.js';
import { routingCapability } from '../routing/capability.js';
import { resolve } from 'node:path';

/** Agents: the OpenCode server, the bridge between sessions and OpenCode, and its reconciler (when `opencode.enabled`). */
export const agentsCapability: CapabilityModule<Capability & { readonly agents: Agents | undefined }> = {
  name: 'agents',
  events: openCodeServerEventDefinitions,
  views: [documentsView(agentSessions, 'running agents')],
  create: (config, shared) => {
    if (!config.opencode.enabled) return { agents: undefined };
    const agents = createAgents(config, { ...shared, projection: shared.viewOf(agentSessions) });
    // The model's second opinion on routes goes through the same OpenCode server (routing.model_assist).
    shared
      .use(routingCapability)
      .offerSecondOpinion(routeOpinion(() => agents.server.endpoint, resolve(shared.cwd, config.workspace.base_path)));
    return {
      agents,
      processManagers: [agents.processManager],
      services: [agents],
      checks: { opencode: openCodeCheck(agents, modelConfigured(config.opencode.config)) },
    };
  },
};

/**
 * /ready's word on OpenCode. A missing model comes first, whether or not the server answers: no
 * turn can succeed without one, and it is the operator's to fix in the configuration. It is told
 * from the gateway's own merged configuration, which is also what a server at opencode.url runs
 * with in k8s/ (opencode-config writes it for the sidecar from the same GATEWAY_OPENCODE_CONFIG).
 */
const openCodeCheck = (agents: Agents, hasModel: boolean) => async (): Promise<string | void> => {
  if (!hasModel) return NO_MODEL;
  await agents.server.health();
};
