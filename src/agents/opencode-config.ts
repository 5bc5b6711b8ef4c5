import type { Route } from '../routing/signals.js';
import type { Persona } from './personas.js';
import { ROUTER_AGENT, routerAgent } from './route-opinion.js';

/**
 * The whole configuration the gateway hands its OpenCode server (as OPENCODE_CONFIG_CONTENT):
 * the operator's `opencode.config` (provider, model; GATEWAY_OPENCODE_CONFIG already merged in),
 * the personas as agents, and what keeps a server offline and quiet.
 */
export const openCodeConfigContent = (
  operator: Record<string, unknown>,
  personas: Record<Route, Persona>,
): Record<string, unknown> => {
  const agents = isRecord(operator['agent']) ? operator['agent'] : {};
  return {
    ...operator,
    autoupdate: false,
    share: 'disabled',
    agent: { ...agents, ...personas, [ROUTER_AGENT]: routerAgent },
  };
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
