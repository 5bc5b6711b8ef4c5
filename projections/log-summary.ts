import type { StoredEvent } from '../src/events/stored-event.js';
import type { Projection } from '../src/projections/projection.js';

/** The log at a glance: how many events, of which types, written by whom, up to where. */
export interface LogSummary {
  readonly event_count: number;
  /** -1 while the log is empty. */
  readonly last_position: number;
  readonly last_recorded_at: string | null;
  readonly events_by_type: Readonly<Record<string, number>>;
  /** By actor kind: token names as they are, process managers as `pm:<name>`. */
  readonly events_by_actor: Readonly<Record<string, number>>;
}

const increment = (counts: Readonly<Record<string, number>>, key: string): Readonly<Record<string, number>> => ({
  ...counts,
  [key]: (counts[key] ?? 0) + 1,
});

/** Counts for metrics (events by type) and the audit overview; small state, a few dozen keys. */
export const logSummary: Projection<LogSummary> = {
  name: 'log-summary',
  initialState: () => ({
    event_count: 0,
    last_position: -1,
    last_recorded_at: null,
    events_by_type: {},
    events_by_actor: {},
  }),
  evolve: (summary, event: StoredEvent) => ({
    event_count: summary.event_count + 1,
    last_position: event.position,
    last_recorded_at: event.metadata.recorded_at,
    events_by_type: increment(summary.events_by_type, event.event.type),
    events_by_actor: increment(summary.events_by_actor, event.metadata.actor),
  }),
};
