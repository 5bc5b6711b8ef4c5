import * as E from 'fp-ts/lib/Either.js';
import type { RecordedEvent } from '../eventstore/port.js';
import type { DomainEvent } from './domain-event.js';
import { EventMetadataCodec, type EventMetadata } from './metadata.js';
import { InvalidEventDataError, type EventRegistry } from './registry.js';
import { formatValidationProblems, reportValidationErrors } from './validation-report.js';

/** A decoded event as read from the log, with where it sits and who caused it. */
export interface StoredEvent<Event extends DomainEvent = DomainEvent> {
  readonly id: string;
  readonly stream: string;
  readonly revision: number;
  readonly position: number;
  readonly event: Event;
  readonly metadata: EventMetadata;
}

export const decodeRecordedEvent = <Event extends DomainEvent = DomainEvent>(
  registry: EventRegistry,
  recorded: RecordedEvent,
): StoredEvent<Event> => {
  const metadata = EventMetadataCodec.decode(recorded.metadata);
  if (E.isLeft(metadata))
    throw new InvalidEventDataError(
      `${recorded.type} metadata`,
      formatValidationProblems(reportValidationErrors(metadata.left)),
    );
  return {
    id: recorded.id,
    stream: recorded.stream,
    revision: recorded.revision,
    position: recorded.position,
    event: { type: recorded.type, data: registry.decode(recorded.type, recorded.data) } as Event,
    metadata: metadata.right,
  };
};
