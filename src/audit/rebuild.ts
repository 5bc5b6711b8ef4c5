import { performance } from 'node:perf_hooks';
import type { EventRegistry } from '../events/registry.js';
import { decodeRecordedEvent, type StoredEvent } from '../events/stored-event.js';
import { applyToDocuments } from '../projections/projection.js';
import type { ViewDefinition } from '../capability/capability.js';
import { pagesOf, type AuditSource } from './source.js';

interface RebuiltProjection {
  readonly name: string;
  /** Documents built, or for a fold what its describer counts (log-summary: events). */
  readonly count: number;
  /** "3 sessions", "120 events of 14 types". */
  readonly text: string;
  /** Set when the fold threw: the projection stopped there, as the server's runner would. */
  readonly failure?: string;
}

export interface RebuildResult {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly projections: readonly RebuiltProjection[];
}

/** A record the registry cannot decode: the server's projections could not fold past it either. */
export class UndecodableEventError extends Error {
  override readonly name = 'UndecodableEventError';
}

interface Building {
  readonly spec: ViewDefinition;
  state: unknown;
  readonly documents: Map<string, unknown>;
  failure?: string;
}

const fold = (building: Building, event: StoredEvent): void => {
  if (building.failure !== undefined) return;
  try {
    if (building.spec.kind === 'fold') building.state = building.spec.projection.evolve(building.state, event);
    else applyToDocuments(building.spec.projection, building.documents, event);
  } catch (error) {
    building.failure = `failed at position ${event.position} (${event.stream}@${event.revision} ${event.event.type}): ${(error as Error).message}`;
  }
};

const resultOf = (building: Building): RebuiltProjection => {
  const { spec } = building;
  const built =
    spec.kind === 'fold'
      ? spec.describe(building.state)
      : { count: building.documents.size, text: `${building.documents.size.toLocaleString('en-US')} ${spec.noun}` };
  return {
    name: spec.projection.name,
    ...built,
    ...(building.failure !== undefined ? { failure: building.failure } : {}),
  };
};

/**
 * Folds the whole log through every projection, exactly as the server's runners do (the same pure
 * folds, decoded by the same registry), each event decoded once for all of them. Shows that the
 * read models can be rebuilt from history alone, and how fast.
 */
export const rebuildProjections = async (
  source: AuditSource,
  registry: EventRegistry,
  projections: readonly ViewDefinition[],
  options: { readonly onProgress?: (read: number, position: number) => void } = {},
): Promise<RebuildResult> => {
  const started = performance.now();
  const buildings: Building[] = projections.map((spec) => ({
    spec,
    state: spec.kind === 'fold' ? spec.projection.initialState() : undefined,
    documents: new Map(),
  }));
  let events = 0;
  for await (const page of pagesOf(source)) {
    for (const recorded of page) {
      let event: StoredEvent;
      try {
        event = decodeRecordedEvent(registry, recorded);
      } catch (error) {
        throw new UndecodableEventError(
          `the event at position ${recorded.position} (${recorded.stream}@${recorded.revision} ${recorded.type}) cannot be decoded: ${(error as Error).message}`,
        );
      }
      for (const building of buildings) fold(building, event);
    }
    events += page.length;
    options.onProgress?.(events, page[page.length - 1]!.position);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    events,
    seconds,
    eventsPerSecond: seconds > 0 ? Math.round(events / seconds) : events,
    projections: buildings.map(resultOf),
  };
};
