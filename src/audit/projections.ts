import { agentSessions } from '../agents/agent-session-view.js';
import { deploymentViews } from '../deployments/deployment-view.js';
import { failedWebhooks } from '../notifications/failed-webhooks-view.js';
import { namespaceViews } from '../labs/namespace-view.js';
import { logSummary, type LogSummary } from '../../projections/log-summary.js';
import { sessionViews } from '../sessions/session-view.js';
import { streamCatalog } from '../../projections/stream-catalog.js';
import type { DocumentProjection, Projection } from '../projections/projection.js';

/** A projection to rebuild, and how to say in a few words what it built. */
export type AnyProjection =
  | {
      readonly kind: 'fold';
      readonly projection: Projection<unknown>;
      readonly describe: (state: unknown) => { count: number; text: string };
    }
  | { readonly kind: 'documents'; readonly projection: DocumentProjection<unknown>; readonly noun: string };

const documents = <Document>(projection: DocumentProjection<Document>, noun: string): AnyProjection => ({
  kind: 'documents',
  projection: projection as DocumentProjection<unknown>,
  noun,
});

/**
 * Every fold in projections/ that the gateway runs, for `gateway rebuild`. A test checks this list
 * against the folder, so a new projection cannot be left out of the rebuild.
 */
export const allProjections: readonly AnyProjection[] = [
  documents(streamCatalog, 'streams'),
  {
    kind: 'fold',
    projection: logSummary as Projection<unknown>,
    describe: (state) => {
      const summary = state as LogSummary;
      const types = Object.keys(summary.events_by_type).length;
      return {
        count: summary.event_count,
        text: `${summary.event_count.toLocaleString('en-US')} events of ${types} type${types === 1 ? '' : 's'}`,
      };
    },
  },
  documents(sessionViews, 'sessions'),
  documents(failedWebhooks, 'parked webhooks'),
  documents(deploymentViews, 'deployments'),
  documents(namespaceViews, 'lab namespaces'),
  documents(agentSessions, 'running agents'),
];
