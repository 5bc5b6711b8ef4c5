import type { DomainEvent } from '../../src/events/domain-event.js';
import type { StoredEvent } from '../../src/events/stored-event.js';

/**
 * Builds StoredEvents for pure fold tests, numbering positions and per-stream revisions as the
 * log would. Times are one second apart from 2030-01-01.
 */
export const storedEvents = (
  entries: readonly { stream: string; event: DomainEvent; actor?: string }[],
): StoredEvent[] => {
  const revisions = new Map<string, number>();
  return entries.map(({ stream, event, actor }, position) => {
    const revision = (revisions.get(stream) ?? -1) + 1;
    revisions.set(stream, revision);
    return {
      id: `event-${position}`,
      stream,
      revision,
      position,
      event,
      metadata: {
        actor: actor ?? 'tester',
        correlation_id: 'corr',
        causation_id: 'cause',
        recorded_at: new Date(Date.UTC(2030, 0, 1, 0, 0, position)).toISOString(),
        hash: 'f'.repeat(64),
      },
    };
  });
};
