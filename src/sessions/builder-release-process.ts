import type { StoredEvent } from '../events/stored-event.js';
import { commandReaction, type ProcessManager } from '../process-managers/process-manager.js';
import { builderDecider, builderStream } from './builder.js';
import { sessionIdOf, type SessionEvent } from './events.js';

/** Frees a builder when its session ends (closed, failed, or its workspace failed). */
export const builderReleaser: ProcessManager = {
  name: 'builder-release',
  react: (stored: StoredEvent) => {
    const sessionId = sessionIdOf(stored.stream);
    if (sessionId === undefined) return [];
    const event = stored.event as SessionEvent;
    if (event.type !== 'SessionClosed' && event.type !== 'SessionFailed' && event.type !== 'WorkspaceFailed') return [];
    return [
      commandReaction(`${stored.id}:release`, builderStream(event.data.builder), builderDecider, {
        type: 'ReleaseBuilder',
        builder: event.data.builder,
        sessionId,
        now: new Date(stored.metadata.recorded_at),
      }),
    ];
  },
};
