import * as E from 'fp-ts/lib/Either.js';
import type { RecordedEvent } from '../eventstore/port.js';
import { chainHash } from '../events/hash-chain.js';
import { EventMetadataCodec, type EventMetadata } from '../events/metadata.js';

/** An event's metadata as EventLog wrote it, or undefined when a field is missing or not a string. */
export const metadataOf = (event: RecordedEvent): EventMetadata | undefined => {
  const decoded = EventMetadataCodec.decode(event.metadata);
  return E.isRight(decoded) ? decoded.right : undefined;
};

/**
 * The hash `event` would carry if it were written at `revision` after an event hashed
 * `previousHash`: the same HashedContent EventLog hashes when it appends. Trying other revisions
 * is how a verifier tells where an event was first written.
 */
export const hashAt = (previousHash: string, event: RecordedEvent, metadata: EventMetadata, revision: number): string =>
  chainHash(previousHash, {
    id: event.id,
    stream: event.stream,
    revision,
    type: event.type,
    data: event.data,
    actor: metadata.actor,
    correlation_id: metadata.correlation_id,
    causation_id: metadata.causation_id,
    recorded_at: metadata.recorded_at,
  });

/** Whether `event`, written at `revision`, chains to `previousHash`. */
export const chainsTo = (previousHash: string, event: RecordedEvent, revision: number): boolean => {
  const metadata = metadataOf(event);
  return metadata !== undefined && hashAt(previousHash, event, metadata, revision) === metadata.hash;
};
