import type { StoredEvent } from '../events/stored-event.js';
import type { EffectHandlers, ProcessManager, Reaction } from '../process-managers/process-manager.js';
import type { LabCluster } from './cluster.js';
import type { NamespaceEvent } from './namespace-events.js';

export type NamespaceEffect = { readonly kind: 'delete-namespace'; readonly name: string };

/** Deletes a lab namespace once its deletion is requested (now, or by the deadline timer after N days). */
export const namespaceKeeper: ProcessManager<NamespaceEffect> = {
  name: 'namespace-keeper',
  react: (stored: StoredEvent): readonly Reaction<NamespaceEffect>[] => {
    if (!stored.stream.startsWith('namespace-')) return [];
    const event = stored.event as NamespaceEvent;
    if (event.type !== 'NamespaceDeletionRequested') return [];
    return [{ type: 'effect', key: `${stored.id}:delete`, stream: stored.stream, effect: { kind: 'delete-namespace', name: event.data.name } }];
  },
};

export const namespaceKeeperEffects = (options: { cluster: LabCluster; clock?: () => Date }): EffectHandlers<NamespaceEffect> => {
  const clock = options.clock ?? (() => new Date());
  return {
    'delete-namespace': async (request) => {
      const outcome = await options.cluster.deleteNamespace(request.name);
      // Someone took the gateway's label off: it is not the gateway's to delete any more.
      if (outcome === 'foreign') throw new Error(`namespace ${request.name} is no longer labelled as managed by the gateway; it was left alone`);
      return [{ type: 'NamespaceDeleted', data: { name: request.name, outcome, deleted_at: clock().toISOString() } }];
    },
  };
};
