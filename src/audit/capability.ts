import { logSummary, type LogSummary } from '../../projections/log-summary.js';
import { streamCatalog } from '../../projections/stream-catalog.js';
import { documentsView, type CapabilityModule } from '../capability/capability.js';
import type { Projection } from '../projections/projection.js';
import { auditRoutes } from './routes.js';

/** Audit: the log read, verified and exported over HTTP, and the folds of the whole log (projections/). */
export const auditCapability: CapabilityModule = {
  name: 'audit',
  events: [],
  views: [
    documentsView(streamCatalog, 'streams'),
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
  ],
  create: (_config, shared) => ({ routers: [auditRoutes({ store: shared.eventLog.store })] }),
};
