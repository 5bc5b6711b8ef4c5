import { namespaceOf, type NamespaceEvent } from './events.js';
import type { NamespaceStatus } from './status.js';
import type { StoredEvent } from '../events/stored-event.js';
import type { DocumentProjection } from '../projections/projection.js';

/** The contract's lab namespace, as GET /api/namespaces lists it (while it exists). */
export interface NamespaceView {
  readonly name: string;
  readonly project_id: string;
  readonly url: string;
  readonly created_at: string;
  readonly deletion_scheduled_for: string | null;
  /** Why the last try to delete it failed (it is tried again); null once it succeeds, or before any failure. */
  readonly deletion_error: string | null;
  readonly status: NamespaceStatus;
  readonly revision: number;
}

const evolveNamespaceView = (
  view: NamespaceView | undefined,
  stored: StoredEvent<NamespaceEvent>,
): NamespaceView | undefined => {
  const event = stored.event;
  const revision = stored.revision;
  switch (event.type) {
    case 'NamespaceCreated':
      return {
        name: event.data.name,
        project_id: event.data.project,
        url: event.data.url,
        created_at: event.data.created_at,
        deletion_scheduled_for: null,
        deletion_error: null,
        status: 'live',
        revision,
      };
    case 'NamespaceDeletionScheduled':
      return view && { ...view, deletion_scheduled_for: event.data.scheduled_for, revision };
    case 'NamespaceDeletionRequested':
      return view && { ...view, status: 'deleting', deletion_scheduled_for: event.data.requested_at, revision };
    case 'NamespaceDeletionFailed':
      return view && { ...view, deletion_error: event.data.reason, revision };
    case 'NamespaceDeleted':
      return view && { ...view, status: 'deleted', deletion_error: null, revision };
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
};

/** One view per lab namespace the gateway made, folded from its stream. */
export const namespaceViews: DocumentProjection<NamespaceView> = {
  name: 'namespace-views',
  documentIdsOf: (stored) => {
    const id = namespaceOf(stored.stream);
    return id === undefined ? [] : [id];
  },
  evolve: (view, stored) => evolveNamespaceView(view, stored as StoredEvent<NamespaceEvent>),
};
