import type { Context } from 'koa';
import type { SseHub, SseMessage, SseSource } from '../api/sse.js';
import { ProblemError } from '../api/problem.js';
import { foldEvents } from '../commands/decider.js';
import type { DomainEvent } from '../events/domain-event.js';
import type { EventLog } from '../events/event-log.js';
import { sessionDecider } from './decider.js';
import { sessionStream, type SessionEvent } from './events.js';
import type { Session } from './session.js';
import { pushFailedSummary } from './session-error.js';

/** What a session's SSE client sees of an event: the contract's types, with the status after it. */
type Outgoing =
  | DomainEvent<'status', { status: string; agent_status: string; error?: string }>
  | DomainEvent<'question', { question_id: string; text: string; options: readonly string[] }>
  | DomainEvent<'agent_output', { message_id: string; text: string }>
  | DomainEvent<'progress', { summary: string }>
  | DomainEvent<'deployment', { deployment_id: string; status: string }>
  | DomainEvent<'skip', null>;

const agentStatusOf = (state: Session): string => {
  if (state.status === 'none') return 'idle';
  return state.status === 'active' && state.pendingQuestion !== null ? 'waiting_for_answer' : state.agentStatus;
};

/** The contract's event for one stored session event, given the state before and after it. */
const outgoingOf = (event: SessionEvent, before: Session, after: Session): Outgoing => {
  if (event.type === 'QuestionAsked')
    return {
      type: 'question',
      data: { question_id: event.data.question_id, text: event.data.text, options: event.data.options },
    };
  if (event.type === 'AgentReplied')
    return { type: 'agent_output', data: { message_id: event.data.message_id, text: event.data.text } };
  if (event.type === 'ProgressReported') return { type: 'progress', data: { summary: event.data.summary } };
  // As the progress webhook says it: the work did not leave the machine.
  if (event.type === 'BranchPushFailed') return { type: 'progress', data: { summary: pushFailedSummary(event) } };
  if (event.type === 'DeploymentStatusChanged')
    return { type: 'deployment', data: { deployment_id: event.data.deployment_id, status: event.data.status } };
  const changed =
    after.status !== before.status || event.type === 'SessionCreated' || agentStatusOf(after) !== agentStatusOf(before);
  if (!changed || after.status === 'none') return { type: 'skip', data: null };
  // A failed session says why, as its view does.
  return {
    type: 'status',
    data: {
      status: after.status,
      agent_status: agentStatusOf(after),
      ...(after.status === 'failed' ? { error: after.error } : {}),
    },
  };
};

/**
 * `GET /api/sessions/{id}/events`: the session stream as the contract's SSE events. Each
 * connection folds the stream up to its resume point, then keeps folding, so every `status`
 * event carries the status the session had after it, whatever the client missed.
 */
export const sessionEventsRoute = (hub: SseHub, eventLog: EventLog) =>
  hub.route<Outgoing>({
    subscribe: async (ctx: Context, afterRevision) => {
      const sessionId = (ctx.params as Record<string, string>)['session_id']!;
      const stream = sessionStream(sessionId);
      const history = await eventLog.readStream<SessionEvent>(stream, {
        maxCount: afterRevision === undefined ? 1 : afterRevision + 1,
      });
      if (history.length === 0) throw new ProblemError(404, `no session ${sessionId}`);
      let state: Session =
        afterRevision === undefined
          ? sessionDecider.initialState()
          : foldEvents(
              sessionDecider,
              history.map((stored) => stored.event),
            );
      const subscription = eventLog.subscribeToStream<SessionEvent>(
        stream,
        afterRevision === undefined ? {} : { afterRevision },
      );
      const source: SseSource<Outgoing> = {
        stop: () => subscription.stop(),
        async *[Symbol.asyncIterator]() {
          for await (const stored of subscription) {
            const before = state;
            state = sessionDecider.evolve(state, stored.event);
            yield { ...stored, event: outgoingOf(stored.event, before, state) };
          }
        },
      };
      return source;
    },
    toMessage: (stored): SseMessage | undefined =>
      stored.event.type === 'skip' ? undefined : { event: stored.event.type, data: stored.event.data },
  });
