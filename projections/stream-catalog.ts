import type { StoredEvent } from '../src/events/stored-event.js';
import type { DocumentProjection } from '../src/projections/projection.js';

/** One stream of the log as auditors and operators list it. Wire names (snake_case) so it can be served as is. */
export interface StreamSummary {
  readonly stream: string;
  /** Revision of the stream's last event (its ETag). */
  readonly revision: number;
  readonly event_count: number;
  readonly first_position: number;
  readonly last_position: number;
  readonly last_event_type: string;
  /** `recorded_at` of the first and the last event. */
  readonly created_at: string;
  readonly updated_at: string;
}

/**
 * Every stream in the log with its revision, size and last activity: the table of contents
 * for audit (which streams to verify or replay) and for operators.
 */
export const streamCatalog: DocumentProjection<StreamSummary> = {
  name: 'stream-catalog',
  documentIdsOf: (event: StoredEvent) => [event.stream],
  evolve: (summary, event) => ({
    stream: event.stream,
    revision: event.revision,
    event_count: (summary?.event_count ?? 0) + 1,
    first_position: summary?.first_position ?? event.position,
    last_position: event.position,
    last_event_type: event.event.type,
    created_at: summary?.created_at ?? event.metadata.recorded_at,
    updated_at: event.metadata.recorded_at,
  }),
};
