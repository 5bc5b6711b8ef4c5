import { resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Capability, CapabilityModule } from '../capability/capability.js';
import type { RoutingTask } from './analyze.js';
import { suggestRoute, type AssistedAnalysis, type SecondOpinion } from './assisted.js';
import { routingRoutes } from './routes.js';
import { learnFromExamples, loadRoutingExamples } from './examples.js';
import { loadRoutingSignals, type RoutingSignals } from './signals.js';

export interface Routing {
  readonly signals: RoutingSignals;
  /** The signals' analysis, with the model's second opinion when configured and offered. */
  readonly suggest: (task: RoutingTask) => Promise<AssistedAnalysis>;
  /** The agents offer the model's opinion (routing cannot depend on them: they depend on it). */
  readonly offerSecondOpinion: (ask: SecondOpinion) => void;
}

/** Routing: the labelled examples and the signals a task is routed by (read and learnt once, at start), the model's second opinion, and POST /api/routing/analyze. */
export const routingCapability: CapabilityModule<Capability & Routing> = {
  name: 'routing',
  events: [],
  views: [],
  create: (config, shared) => {
    const loaded = loadRoutingSignals(resolve(shared.cwd, config.routing.signals_file));
    if (E.isLeft(loaded)) throw new Error(loaded.left);
    const signals = loaded.right;
    const examples = loadRoutingExamples(config.routing.examples_files.map((file) => resolve(shared.cwd, file)));
    if (E.isLeft(examples)) throw new Error(examples.left);
    const router = {
      signals,
      examples: examples.right.length === 0 ? undefined : learnFromExamples(examples.right),
    };
    const settings = {
      mode: config.routing.model_assist,
      threshold: config.routing.auto_confirm_confidence,
      timeoutMs: config.routing.model_timeout_ms,
    };
    let ask: SecondOpinion | undefined;
    const suggest = (task: RoutingTask): Promise<AssistedAnalysis> => suggestRoute(task, router, settings, ask);
    return {
      signals,
      suggest,
      offerSecondOpinion: (opinion) => {
        ask = opinion;
      },
      routers: [routingRoutes(suggest)],
    };
  },
};
