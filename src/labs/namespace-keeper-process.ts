import type { StoredEvent } from '../events/stored-event.js';
import {
  effectThenCommand,
  type EffectHandlers,
  type ProcessManager,
  type Reaction,
} from '../process-managers/process-manager.js';
import { namespaceDecider } from './decider.js';
import type { LabCluster } from './cluster.js';
import { namespaceOf, type NamespaceEvent } from './events.js';

export type NamespaceEffect = { readonly kind: 'delete-namespace'; readonly name: string };

/**
 * Deletes a lab namespace once its deletion is requested (now, by the deadline timer after N days,
 * or again after a failure); what happened goes through the namespace's decider.
 */
export const namespaceKeeper: ProcessManager<NamespaceEffect> = {
  name: 'namespace-keeper',
  react: (stored: StoredEvent): readonly Reaction<NamespaceEffect>[] => {
    if (namespaceOf(stored.stream) === undefined) return [];
    const event = stored.event as NamespaceEvent;
    if (event.type !== 'NamespaceDeletionRequested') return [];
    return [
      effectThenCommand(`${stored.id}:delete`, stored.stream, namespaceDecider, {
        kind: 'delete-namespace',
        name: event.data.name,
      }),
    ];
  },
};

export const namespaceKeeperEffects = (options: {
  cluster: LabCluster;
  clock?: () => Date;
}): EffectHandlers<NamespaceEffect> => {
  const clock = options.clock ?? (() => new Date());
  return {
    'delete-namespace': async (request) => {
      let outcome: Awaited<ReturnType<LabCluster['deleteNamespace']>>;
      try {
        outcome = await options.cluster.deleteNamespace(request.name);
      } catch (error) {
        // Shown on the namespace until a later try succeeds; the deadline timer tries again.
        return {
          command: {
            type: 'RecordNamespaceDeletionFailed',
            reason: error instanceof Error ? error.message : String(error),
            now: clock(),
          },
        };
      }
      // Someone took the gateway's label off: it is not the gateway's to delete any more.
      if (outcome === 'foreign')
        return {
          command: {
            type: 'RecordNamespaceDeletionFailed',
            reason: `namespace ${request.name} is no longer labelled as managed by the gateway; it was left alone`,
            now: clock(),
          },
        };
      return { command: { type: 'RecordNamespaceDeleted', outcome, now: clock() } };
    },
  };
};
