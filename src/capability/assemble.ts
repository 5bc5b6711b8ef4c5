import type { GatewayConfig } from '../config/schema.js';
import type { DocumentProjection } from '../projections/projection.js';
import { DocumentProjectionRunner, ProjectionRunner } from '../projections/runner.js';
import type { Capability, CapabilityModule, Shared } from './capability.js';

/** Every view runner of a gateway: what starts first and stops last. */
type ViewRunner = DocumentProjectionRunner<unknown> | ProjectionRunner<unknown>;

/**
 * Creates every capability of the list, each once (a capability may `use` another before its turn),
 * and one runner per view: the views the list declares and any other a capability reads.
 */
export const assembleCapabilities = (
  modules: readonly CapabilityModule[],
  config: GatewayConfig,
  base: Omit<Shared, 'viewOf' | 'use'>,
): { readonly capabilities: readonly Capability[]; readonly views: readonly ViewRunner[]; readonly shared: Shared } => {
  const documents = new Map<string, DocumentProjectionRunner<unknown>>();
  const created = new Map<CapabilityModule, Capability>();
  const creating = new Set<CapabilityModule>();
  const shared: Shared = {
    ...base,
    viewOf: <Document>(projection: DocumentProjection<Document>) => {
      let runner = documents.get(projection.name);
      if (runner === undefined) {
        runner = new DocumentProjectionRunner(projection as DocumentProjection<unknown>, base.runtimeOptions);
        documents.set(projection.name, runner);
      }
      return runner as DocumentProjectionRunner<Document>;
    },
    use: <Contribution extends Capability>(module: CapabilityModule<Contribution>): Contribution => {
      const done = created.get(module);
      if (done !== undefined) return done as Contribution;
      if (creating.has(module)) throw new Error(`the capability ${module.name} needs itself to be created`);
      creating.add(module);
      const contribution = module.create(config, shared);
      created.set(module, contribution);
      return contribution;
    },
  };
  const folds = modules
    .flatMap((module) => module.views)
    .flatMap((view) => (view.kind === 'fold' ? [new ProjectionRunner(view.projection, base.runtimeOptions)] : []));
  for (const module of modules)
    for (const view of module.views) if (view.kind === 'documents') shared.viewOf(view.projection);
  const capabilities = modules.map((module) => shared.use(module));
  return { capabilities, views: [...documents.values(), ...folds], shared };
};
