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

/** What /ready says of OpenCode while it has no model to use. */
export const NO_MODEL = 'no model configured';

/** Said once at start when there is no model: what to set, and where. */
export const HOW_TO_CONFIGURE_A_MODEL =
  'no model configured: agents cannot work until opencode.config (or GATEWAY_OPENCODE_CONFIG, JSON merged on top) names a provider and a model, e.g. {"provider":{"<id>":{…}},"model":"<id>/<model>"} (see the README)';

/**
 * Whether OpenCode has a model to use: `model` as `<provider>/<model>` with that provider under
 * `provider`. Without one OpenCode falls back to a hosted model and retries for ever, and the
 * gateway hands its own server only the provider keys its configuration names (`{env:NAME}`), so
 * a provider nobody configured has no key either.
 */
export const modelConfigured = (operator: Record<string, unknown>): boolean => {
  const model = operator['model'];
  if (typeof model !== 'string') return false;
  const slash = model.indexOf('/');
  if (slash <= 0 || slash === model.length - 1) return false;
  const providers = isRecord(operator['provider']) ? operator['provider'] : {};
  return isRecord(providers[model.slice(0, slash)]);
};
