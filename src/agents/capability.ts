import { documentsView, type Capability, type CapabilityModule } from '../capability/capability.js';
import { agentSessions } from './agent-session-view.js';
import { createAgents, type Agents } from './agents.js';
import { openCodeServerEventDefinitions } from './events.js';

/** Agents: the OpenCode server, the bridge between sessions and OpenCode, and its reconciler (when `opencode.enabled`). */
export const agentsCapability: CapabilityModule<Capability & { readonly agents: Agents | undefined }> = {
  name: 'agents',
  events: openCodeServerEventDefinitions,
  views: [documentsView(agentSessions, 'running agents')],
  create: (config, shared) => {
    if (!config.opencode.enabled) return { agents: undefined };
    const agents = createAgents(config, { ...shared, projection: shared.viewOf(agentSessions) });
    return {
      agents,
      processManagers: [agents.processManager],
      services: [agents],
      checks: { opencode: () => agents.server.health() },
    };
  },
};
