import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../commands/handle-command.js';
import type { EventLog } from '../events/event-log.js';
import type { StoredEvent } from '../events/stored-event.js';
import type { DomainEvent } from '../events/domain-event.js';
import type { EffectContext, EffectHandlers, ProcessManager, Reaction } from '../process-managers/process-manager.js';
import { sessionDecider, type SessionCommand } from '../sessions/decider.js';
import type { TestsResult } from '../testing/results.js';
import { sessionStream } from '../sessions/events.js';
import { deploymentIdOf, deploymentStream, STEPS, type DeploymentEvent } from './events.js';
import { statusAtStep } from './status.js';

type StatusNews = {
  readonly kind: 'record-on-session';
  readonly deploymentId: string;
  readonly status: string;
  readonly url: string | null;
  readonly step: string | null;
  readonly reason: string | null;
};

export type SessionNewsEffect =
  | StatusNews
  | {
      readonly kind: 'record-tests-on-session';
      readonly deploymentId: string;
      readonly runId: string;
      readonly tests: TestsResult;
    };

type Requested = Extract<DeploymentEvent, { type: 'DeploymentRequested' }>;

/** The status a deployment event moves its deployment to, with what Slack should hear of it; null when it is no news. */
const newsOf = (event: DeploymentEvent): Omit<StatusNews, 'kind' | 'deploymentId'> | null => {
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
    // Only the steps that change the status are news: the first one (deploying) and the tests (testing).
    case 'DeploymentStepStarted':
      return event.data.step === STEPS[0] || statusAtStep(event.data.step) === 'testing'
        ? { ...none, status: statusAtStep(event.data.step) }
        : null;
    case 'DeploymentSucceeded':
      return { ...none, status: 'succeeded', url: event.data.url };
    case 'DeploymentFailed':
      return { ...none, status: 'failed', step: event.data.step, reason: event.data.reason };
    case 'TestsRerunRequested':
      return { ...none, status: 'testing' };
    case 'DeploymentRequested':
    case 'DeploymentStepCompleted':
    case 'PodsReady':
    case 'DeploymentProgressed':
    case 'TestsFinished':
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
    const deploymentId = deploymentIdOf(stored.stream);
    if (deploymentId === undefined) return [];
    const event = stored.event as DeploymentEvent;
    if (event.type === 'TestsFinished') {
      return [
        {
          type: 'effect',
          key: `${stored.id}:tests`,
          stream: stored.stream,
          effect: {
            kind: 'record-tests-on-session',
            deploymentId,
            runId: event.data.run_id,
            tests: event.data.tests,
          },
          rerunnable: true,
        },
      ];
    }
    const news = newsOf(event);
    if (!news) return [];
    // The session is named only in the deployment's first event, so the effect looks it up; its outcome goes to that session's stream.
    // The session's decider ignores news it has, so the reaction may run again: it keeps no proof.
    return [
      {
        type: 'effect',
        key: `${stored.id}:session`,
        stream: stored.stream,
        effect: { kind: 'record-on-session', deploymentId, ...news },
        rerunnable: true,
      },
    ];
  },
};

export const deploymentNewsEffects = (options: {
  eventLog: EventLog;
  clock?: () => Date;
}): EffectHandlers<SessionNewsEffect> => {
  const clock = options.clock ?? (() => new Date());
  /** Runs a command on the deployment's session, named in the deployment's first event. */
  const onSession = async (
    deploymentId: string,
    context: EffectContext,
    command: (requested: Requested['data'], history: readonly DeploymentEvent[], now: Date) => SessionCommand,
  ): Promise<readonly DomainEvent[]> => {
    const history = (await options.eventLog.readStream<DeploymentEvent>(deploymentStream(deploymentId))).map(
      (stored) => stored.event,
    );
    const requested = history.find((event) => event.type === 'DeploymentRequested');
    if (requested?.type !== 'DeploymentRequested') return [];
    const now = clock();
    // Recording the same news twice is a no-op in the session's decider, so a re-run after a crash adds nothing.
    const result = await handleCommand(
      options.eventLog,
      sessionStream(requested.data.session_id),
      sessionDecider,
      command(requested.data, history, now),
      {
        actor: 'pm:deployment-news',
        correlationId: context.cause.metadata.correlation_id,
        causationId: context.cause.id,
        now,
      },
    );
    if (E.isLeft(result))
      throw new Error(`recording deployment ${deploymentId} on its session failed: ${JSON.stringify(result.left)}`);
    return [];
  };
  return {
    'record-tests-on-session': (request, context) =>
      onSession(request.deploymentId, context, (_requested, _history, now) => ({
        type: 'RecordDeploymentTests',
        deploymentId: request.deploymentId,
        runId: request.runId,
        tests: request.tests,
        now,
      })),
    'record-on-session': (request, context) =>
      onSession(request.deploymentId, context, (requested, history, now) => {
        const asked = history.find((event) => event.type === 'ConfirmationRequested');
        return {
          type: 'RecordDeploymentStatus',
          deploymentId: request.deploymentId,
          status: request.status,
          plan: request.status === 'awaiting_confirmation' ? requested.plan : null,
          expiresAt:
            request.status === 'awaiting_confirmation' && asked?.type === 'ConfirmationRequested'
              ? asked.data.expires_at
              : null,
          url: request.url,
          step: request.step,
          reason: request.reason,
          now,
        };
      }),
  };
};
