import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../commands/handle-command.js';
import type { EventLog } from '../events/event-log.js';
import type { StoredEvent } from '../events/stored-event.js';
import type { EffectHandlers, ProcessManager, Reaction } from '../process-managers/process-manager.js';
import { sessionDecider } from '../sessions/decide.js';
import { sessionStream } from '../sessions/events.js';
import { deploymentStream, type DeploymentEvent } from './events.js';

export type SessionNewsEffect = {
  readonly kind: 'record-on-session';
  readonly deploymentId: string;
  readonly status: string;
  readonly url: string | null;
  readonly step: string | null;
  readonly reason: string | null;
};

const DEPLOYMENT_STREAM = /^deployment-(.+)$/;

/** The status a deployment event moves its deployment to, with what Slack should hear of it; null when it is no news. */
const newsOf = (event: DeploymentEvent): Omit<SessionNewsEffect, 'kind' | 'deploymentId'> | null => {
  const none = { url: null, step: null, reason: null };
  switch (event.type) {
    case 'ConfirmationRequested':
      return { ...none, status: 'awaiting_confirmation' };
    case 'DeploymentConfirmed':
      return { ...none, status: 'confirmed' };
    case 'DeploymentRejected':
      return { ...none, status: 'rejected', reason: event.data.reason };
    case 'DeploymentExpired':
      return { ...none, status: 'expired', reason: 'nobody confirmed the plan in time' };
    case 'DeploymentStepStarted':
      return { ...none, status: event.data.step === 'tests' ? 'testing' : 'deploying' };
    case 'DeploymentSucceeded':
      return { ...none, status: 'succeeded', url: event.data.url };
    case 'DeploymentFailed':
      return { ...none, status: 'failed', step: event.data.step, reason: event.data.reason };
    case 'DeploymentRequested':
    case 'DeploymentStepCompleted':
    case 'DeploymentProgressed':
      return null;
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
};

/**
 * Keeps each session told of its deployments: every change of a deployment's status is recorded
 * on the session's stream, where its view, its SSE (`deployment`) and its webhooks pick it up in
 * the session's own order.
 */
export const deploymentNews: ProcessManager<SessionNewsEffect> = {
  name: 'deployment-news',
  react: (stored: StoredEvent): readonly Reaction<SessionNewsEffect>[] => {
    const match = DEPLOYMENT_STREAM.exec(stored.stream);
    if (!match) return [];
    const news = newsOf(stored.event as DeploymentEvent);
    if (!news) return [];
    // The session is named only in the deployment's first event, so the effect looks it up; its outcome goes to that session's stream.
    return [{ type: 'effect', key: `${stored.id}:session`, stream: stored.stream, effect: { kind: 'record-on-session', deploymentId: match[1]!, ...news } }];
  },
};

export const deploymentNewsEffects = (options: { eventLog: EventLog; clock?: () => Date }): EffectHandlers<SessionNewsEffect> => {
  const clock = options.clock ?? (() => new Date());
  return {
    'record-on-session': async (request, context) => {
      const history = await options.eventLog.readStream<DeploymentEvent>(deploymentStream(request.deploymentId));
      const requested = history.find((stored) => stored.event.type === 'DeploymentRequested')?.event;
      if (requested?.type !== 'DeploymentRequested') return [];
      const asked = history.find((stored) => stored.event.type === 'ConfirmationRequested')?.event;
      const now = clock();
      // Recording the same status twice is a no-op in the session's decider, so a re-run after a crash adds nothing.
      const result = await handleCommand(
        options.eventLog,
        sessionStream(requested.data.session_id),
        sessionDecider,
        {
          type: 'RecordDeploymentStatus',
          deploymentId: request.deploymentId,
          status: request.status,
          plan: request.status === 'awaiting_confirmation' ? requested.data.plan : null,
          expiresAt: request.status === 'awaiting_confirmation' && asked?.type === 'ConfirmationRequested' ? asked.data.expires_at : null,
          url: request.url,
          step: request.step,
          reason: request.reason,
          now,
        },
        { actor: 'pm:deployment-news', correlationId: context.cause.metadata.correlation_id, causationId: context.cause.id, now },
      );
      if (E.isLeft(result)) throw new Error(`recording deployment ${request.deploymentId} on its session failed: ${JSON.stringify(result.left)}`);
      return [];
    },
  };
};
