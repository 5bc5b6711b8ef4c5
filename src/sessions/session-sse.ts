import type { Context } from 'koa';
import type { SseHub, SseMessage, SseSource } from '../api/sse.js';
import { ProblemError } from '../api/problem.js';
import { foldEvents } from '../commands/decider.js';
import type { DomainEvent } from '../events/domain-event.js';
import type { EventLog } from '../events/event-log.js';
import type { StoredEvent } from '../events/stored-event.js';
import { sessionDecider } from './decide.js';
import { sessionStream, type SessionEvent } from './events.js';
import type { Session } from './session.js';

/** What a session's SSE client sees of an event: the contract's types, with the status after it. */
type Outgoing = DomainEvent<'status', { status: string; agent_status: string }> | DomainEvent<'skip', null>;

/**
 * `GET /api/sessions/{id}/events`: the session stream as the contract's SSE events. Each
 * connection folds the stream up to its resume point, then keeps folding, so every `status`
 * event carries the status the session had after it, whatever the client missed.
 */
export const sessionEventsRoute = (hub: SseHub, eventLog: EventLog) =>
  hub.route<Outgoing>({
    subscribe: async (ctx: Context, afterRevision) => {
      const sessionId = ctx.params['session_id']!;
      const stream = sessionStream(sessionId);
      const history = await eventLog.readStream<SessionEvent>(stream, { maxCount: afterRevision === undefined ? 1 : afterRevision + 1 });
      if (history.length === 0) throw new ProblemError(404, `no session ${sessionId}`);
      let state: Session = afterRevision === undefined ? sessionDecider.initialState() : foldEvents(sessionDecider, history.map((stored) => stored.event));
      const subscription = eventLog.subscribeToStream<SessionEvent>(stream, afterRevision === undefined ? {} : { afterRevision });
      const source: SseSource<Outgoing> = {
        stop: () => subscription.stop(),
        async *[Symbol.asyncIterator]() {
          for await (const stored of subscription) {
            const before = state.status;
            state = sessionDecider.evolve(state, stored.event);
            const changed = state.status !== before || stored.event.type === 'SessionCreated';
            const event: Outgoing = changed && state.status !== 'none' ? { type: 'status', data: { status: state.status, agent_status: 'idle' } } : { type: 'skip', data: null };
            yield { ...stored, event } as StoredEvent<Outgoing>;
          }
        },
      };
      return source;
    },
    toMessage: (stored): SseMessage | undefined => (stored.event.type === 'status' ? { event: 'status', data: stored.event.data } : undefined),
  });
