import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { documentsView, type Capability, type CapabilityModule } from '../capability/capability.js';
import { ProcessManagerRunner } from '../process-managers/runner.js';
import { bundleRoutes } from './bundle-route.js';
import { BundleStore } from './bundle-store.js';
import { clusterConfigured, kubernetesCluster, loadKubeConfig, type LabCluster } from './cluster.js';
import { namespaceDeadlinesDue } from './namespace-deadlines.js';
import { namespaceEventDefinitions } from './events.js';
import { namespaceKeeper, namespaceKeeperEffects } from './namespace-keeper-process.js';
import { namespaceViews } from './namespace-view.js';
import { namespaceRoutes } from './routes.js';

/** What labs lend the deployments: the cluster, and the store of signed bundles a lab's pods fetch. */
export interface Labs extends Capability {
  readonly cluster: LabCluster;
  readonly bundles: BundleStore;
  readonly bundleSecret: string;
}

/** Labs: a project's namespace in the cluster, kept while used and deleted when due; bundles served to its pods. */
export const labsCapability: CapabilityModule<Labs> = {
  name: 'labs',
  events: namespaceEventDefinitions,
  views: [documentsView(namespaceViews, 'lab namespaces')],
  create: (config, shared) => {
    const cluster = kubernetesCluster(loadKubeConfig(config.kubeconfig));
    const bundles = new BundleStore(join(config.data_dir, 'bundles'));
    // Without GATEWAY_BUNDLE_SECRET the URLs are signed with a key that lives as long as this process.
    const bundleSecret = config.secrets.bundleSecret ?? randomBytes(32).toString('hex');
    const namespaces = shared.viewOf(namespaceViews);
    return {
      cluster,
      bundles,
      bundleSecret,
      processManagers: [
        new ProcessManagerRunner({
          ...shared.runtimeOptions,
          processManager: namespaceKeeper,
          effects: namespaceKeeperEffects({ cluster }),
        }),
      ],
      routers: [
        namespaceRoutes({ eventLog: shared.eventLog, views: namespaces }),
        bundleRoutes({ store: bundles, secret: bundleSecret }),
      ],
      due: (now) => namespaceDeadlinesDue(namespaces.getState().values(), now),
      ...(clusterConfigured(config.kubeconfig, process.env) ? { checks: { kubernetes: () => cluster.health() } } : {}),
    };
  },
};
