import { resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Capability, CapabilityModule } from '../capability/capability.js';
import { routingRoutes } from './routes.js';
import { loadRoutingSignals, type RoutingSignals } from './signals.js';

/** Routing: the signals a task is routed by (read once, at start), and POST /api/routing/analyze. */
export const routingCapability: CapabilityModule<Capability & { readonly signals: RoutingSignals }> = {
  name: 'routing',
  events: [],
  views: [],
  create: (config, shared) => {
    const signals = loadRoutingSignals(resolve(shared.cwd, config.routing.signals_file));
    if (E.isLeft(signals)) throw new Error(signals.left);
    return { signals: signals.right, routers: [routingRoutes(signals.right)] };
  },
};
