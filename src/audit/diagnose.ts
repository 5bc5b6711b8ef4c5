import type { RecordedEvent } from '../eventstore/port.js';
import { chainsTo, metadataOf } from './chain.js';
import type { AuditSource } from './source.js';

/** How many later events of a broken stream are read to explain the break: one page, only on failure. */
const LOOKAHEAD = 64;
/** The most missing (or inserted) events a shifted revision is tried for; one hash per try. */
const MAX_SHIFT = 1000;

export const eventsAre = (count: number): string => (count === 1 ? 'an event is' : `${count} events are`);

/**
 * Why an event's stored hash does not match its content chained to its predecessor, in words a
 * person understands. The hash covers the event's revision and its predecessor's hash, so the
 * events after it tell what happened: the next event chaining to this one at its own revision
 * means its content was changed in place; at another revision, that events were removed (or
 * inserted) before it; a later event that chains where this one should means the two stand in
 * the wrong order.
 */
export const explainMismatch = async (
  source: AuditSource,
  event: RecordedEvent,
  previousHash: string,
): Promise<string> => {
  const revision = event.revision;
  const later = await source.readStream(event.stream, revision + 1, LOOKAHEAD);
  const own = metadataOf(event)!;
  const next = later[0];
  if (next && next.revision === revision + 1) {
    if (chainsTo(own.hash, next, next.revision))
      return 'hash mismatch: the event was edited after it was written (the next event still chains to its original hash)';
    for (let shift = 1; shift <= MAX_SHIFT; shift++) {
      if (chainsTo(own.hash, next, next.revision + shift)) {
        const written = revision + shift;
        return revision === 0
          ? `revision ${written} is the first of its stream: ${eventsAre(shift)} missing before it (the log now numbers it 0)`
          : `revision ${written} follows ${revision - 1}: ${eventsAre(shift)} missing (the log now numbers this event ${revision})`;
      }
      const earlier = next.revision - shift;
      if (earlier >= 1 && chainsTo(own.hash, next, earlier)) {
        return `written as revision ${revision - shift} but stands at revision ${revision}: ${shift === 1 ? 'an event was' : `${shift} events were`} inserted before it, or it is a copy of an earlier event`;
      }
    }
  }
  // Checked last: after an inserted copy, the event that follows it also chains where the copy stands.
  const belongsHere = later.find((candidate) => chainsTo(previousHash, candidate, revision));
  if (belongsHere)
    return `out of order: the event now at revision ${belongsHere.revision} was written as revision ${revision}, before this one`;
  return 'hash mismatch: the event was edited or a predecessor is missing';
};
