import type { DueCommand } from '../capability/capability.js';
import { namespaceDecider } from './decider.js';
import { namespaceStream } from './events.js';
import type { NamespaceView } from './namespace-view.js';

/** A lab's timers, read from its view: a deletion scheduled for now or before, and a failed deletion tried again. */
export const namespaceDeadlinesDue = (views: Iterable<NamespaceView>, now: Date): DueCommand[] =>
  [...views].flatMap((view): DueCommand[] => {
    // A failed deletion is tried again when its pause is over (the decider knows when; early firing is a no-op).
    if (view.status === 'deleting' && view.deletion_error !== null)
      return [
        {
          key: `retry-delete:${view.name}`,
          stream: namespaceStream(view.name),
          decider: namespaceDecider,
          command: { type: 'RetryNamespaceDeletion', now },
        },
      ];
    if (
      view.status === 'live' &&
      view.deletion_scheduled_for !== null &&
      Date.parse(view.deletion_scheduled_for) <= now.getTime()
    )
      return [
        {
          key: `delete:${view.name}`,
          stream: namespaceStream(view.name),
          decider: namespaceDecider,
          command: { type: 'RequestNamespaceDeletion', requestedBy: 'timer', due: true, now },
        },
      ];
    return [];
  });
