import { documentsView, type Capability, type CapabilityModule } from '../capability/capability.js';
import { agentSessions } from './agent-session-view.js';
import { createAgents, type Agents } from './agents.js';
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
      checks: { opencode: () => agents.server.health() },
    };
  },
};
