import { agentsCapability } from './agents/capability.js';
import { auditCapability } from './audit/capability.js';
import type { CapabilityModule, ViewDefinition } from './capability/capability.js';
import { commandEventDefinitions } from './commands/events.js';
import { deploymentsCapability } from './deployments/capability.js';
import { EventRegistry } from './events/registry.js';
import { labsCapability } from './labs/capability.js';
import { notificationsCapability } from './notifications/capability.js';
import { processManagerEventDefinitions } from './process-managers/events.js';
import { routingCapability } from './routing/capability.js';
import { sessionsCapability } from './sessions/capability.js';
import { slackCapability } from './slack/capability.js';
import { workspacesCapability } from './workspaces/capability.js';

/**
 * Every capability of the gateway, in the order their routes are mounted. The event registry, the
 * views `gateway rebuild` rebuilds and the running gateway all read this list: a capability added
 * here is known to all three.
 */
export const CAPABILITIES: readonly CapabilityModule[] = [
  routingCapability,
  sessionsCapability,
  workspacesCapability,
  notificationsCapability,
  agentsCapability,
  deploymentsCapability,
  labsCapability,
  auditCapability,
  slackCapability,
];

/** Every event type the gateway knows: the plumbing's own (idempotency, reactions) and each capability's. */
export const createEventRegistry = (): EventRegistry =>
  new EventRegistry([
    ...commandEventDefinitions,
    ...processManagerEventDefinitions,
    ...CAPABILITIES.flatMap((capability) => capability.events),
  ]);

/** Every view of every capability, for `gateway rebuild`. */
export const allViews = (): readonly ViewDefinition[] => CAPABILITIES.flatMap((capability) => capability.views);
