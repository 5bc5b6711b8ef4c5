import type { Context } from 'koa';
import type { SseHub, SseMessage, SseSource } from '../api/sse.js';
import { ProblemError } from '../api/problem.js';
import type { EventLog } from '../events/event-log.js';
import type { StoredEvent } from '../events/stored-event.js';
import { podsReadyDetail } from './deployment-view.js';
import { deploymentStream, type DeploymentEvent } from './events.js';

/**
 * The contract's deployment progress events for a stored deployment event (none when a subscriber
 * need not see it; a failure is the failed step's `step_complete`, then `complete`).
 */
export const progressMessageOf = (event: DeploymentEvent): SseMessage | readonly SseMessage[] | undefined => {
  switch (event.type) {
    case 'DeploymentStepStarted':
    case 'DeploymentProgressed':
      return { event: 'progress', data: { step: event.data.step, message: event.data.message } };
    case 'DeploymentStepCompleted':
      return {
        event: 'step_complete',
        data: { step: event.data.step, status: event.data.status, detail: event.data.detail },
      };
    case 'PodsReady':
      return {
        event: 'step_complete',
        data: { step: 'pods_ready', status: 'done', detail: podsReadyDetail(event.data.pods) },
      };
    case 'DeploymentSucceeded':
      return {
        event: 'complete',
        data: { status: 'succeeded', url: event.data.url, all_passing: event.data.all_passing },
      };
    case 'TestsFinished':
      return { event: 'test_results', data: event.data.tests };
    case 'DeploymentFailed': {
      const complete: SseMessage = {
        event: 'complete',
        data: {
          status: 'failed',
          url: null,
          all_passing: false,
          failed_step: event.data.step,
          error: event.data.reason,
        },
      };
      return event.data.step === null
        ? complete
        : [
            { event: 'step_complete', data: { step: event.data.step, status: 'failed', detail: event.data.reason } },
            complete,
          ];
    }
    case 'DeploymentRejected':
      return {
        event: 'complete',
        data: { status: 'rejected', url: null, all_passing: false, error: event.data.reason },
      };
    case 'DeploymentExpired':
      return {
        event: 'complete',
        data: { status: 'expired', url: null, all_passing: false, error: 'nobody confirmed the plan in time' },
      };
    case 'TestsRerunRequested':
      return { event: 'progress', data: { step: 'tests', message: 'Running the tests again' } };
    case 'DeploymentRequested':
    case 'ConfirmationRequested':
    case 'DeploymentConfirmed':
      return undefined;
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
};

const isComplete = (event: DeploymentEvent): boolean => {
  const messages = progressMessageOf(event);
  return messages !== undefined && [messages].flat().some((message) => message.event === 'complete');
};

const ended: SseSource = {
  stop: async () => undefined,
  async *[Symbol.asyncIterator]() {
    // nothing more will ever come
  },
};

/**
 * `GET /api/deployments/{id}/progress`: the deployment's stream as the contract's progress
 * events, ending after `complete`. A client that resumes after `complete` gets the stream's end at once.
 */
export const deploymentProgressRoute = (hub: SseHub, eventLog: EventLog) =>
  hub.route<DeploymentEvent>({
    subscribe: async (ctx: Context, afterRevision) => {
      const deploymentId = (ctx.params as Record<string, string>)['deployment_id']!;
      const stream = deploymentStream(deploymentId);
      const history = await eventLog.readStream<DeploymentEvent>(stream);
      if (history.length === 0) throw new ProblemError(404, `no deployment ${deploymentId}`);
      const completed = history.find((stored) => isComplete(stored.event));
      if (completed && afterRevision !== undefined && afterRevision >= completed.revision)
        return ended as SseSource<DeploymentEvent>;
      return eventLog.subscribeToStream<DeploymentEvent>(stream, afterRevision === undefined ? {} : { afterRevision });
    },
    toMessage: (stored: StoredEvent<DeploymentEvent>) => progressMessageOf(stored.event),
    isTerminal: (stored) => isComplete(stored.event),
  });
