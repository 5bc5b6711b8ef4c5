import type { StoredEvent } from '../events/stored-event.js';

/**
 * A read model as a pure fold over `$all`: no I/O, no clock; the same events always give the
 * same state. For small states (counters, summaries); many documents want DocumentProjection.
 */
export interface Projection<State> {
  readonly name: string;
  readonly initialState: () => State;
  readonly evolve: (state: State, event: StoredEvent) => State;
}

/**
 * A read model of many documents, each a pure fold of the events that concern it (Emmett's
 * document projections). The runtime replaces only the documents an event concerns, so an
 * update costs the same with ten documents or a million, and every document handed out is a
 * value that never changes afterwards.
 */
export interface DocumentProjection<Document> {
  readonly name: string;
  /** The ids of the documents this event concerns (usually one; none for unrelated events). */
  readonly documentIdsOf: (event: StoredEvent) => readonly string[];
  /** The document after the event; `undefined` before it existed, and to delete it. */
  readonly evolve: (document: Document | undefined, event: StoredEvent, id: string) => Document | undefined;
}

/** Folds events with a projection, e.g. to test it or to rebuild a view as of a position. */
export const foldProjection = <State>(projection: Projection<State>, events: Iterable<StoredEvent>): State => {
  let state = projection.initialState();
  for (const event of events) state = projection.evolve(state, event);
  return state;
};

/** Folds events into documents, e.g. to test a document projection. */
export const foldDocuments = <Document>(
  projection: DocumentProjection<Document>,
  events: Iterable<StoredEvent>,
): Map<string, Document> => {
  const documents = new Map<string, Document>();
  for (const event of events) applyToDocuments(projection, documents, event);
  return documents;
};

/** The one place documents change: replace (or delete) each document the event concerns. */
export const applyToDocuments = <Document>(
  projection: DocumentProjection<Document>,
  documents: Map<string, Document>,
  event: StoredEvent,
): void => {
  for (const id of projection.documentIdsOf(event)) {
    const next = projection.evolve(documents.get(id), event, id);
    if (next === undefined) documents.delete(id);
    else documents.set(id, next);
  }
};
