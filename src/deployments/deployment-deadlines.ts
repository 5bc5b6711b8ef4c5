import type { DueCommand } from '../capability/capability.js';
import { deploymentDecider } from './decider.js';
import type { DeploymentView } from './deployment-view.js';
import { deploymentStream } from './events.js';

/** Deployments at their pods_ready step, as the views show them. */
export const waitingForPods = (views: Iterable<DeploymentView>): DeploymentView[] =>
  [...views].filter(
    (view) =>
      view.status === 'deploying' && view.steps.some((step) => step.name === 'pods_ready' && step.status === 'running'),
  );

/** A deployment's timers, read from its view: a plan nobody answered expires, pods not ready in time fail their step. */
export const deploymentDeadlinesDue = (
  views: Iterable<DeploymentView>,
  now: Date,
  podsTimeoutSeconds: number,
): DueCommand[] => {
  const all = [...views];
  const expired = all.filter(
    (view) =>
      view.status === 'awaiting_confirmation' &&
      view.expires_at !== null &&
      Date.parse(view.expires_at) <= now.getTime(),
  );
  const podsLate = waitingForPods(all).filter(
    (view) =>
      Date.parse(view.steps.find((step) => step.name === 'pods_ready')?.started_at ?? '') + podsTimeoutSeconds * 1000 <=
      now.getTime(),
  );
  return [
    ...expired.map((view) => ({
      key: `expire:${view.deployment_id}`,
      stream: deploymentStream(view.deployment_id),
      decider: deploymentDecider,
      command: { type: 'ExpireDeployment', now },
    })),
    ...podsLate.map((view) => ({
      key: `pods-timeout:${view.deployment_id}`,
      stream: deploymentStream(view.deployment_id),
      decider: deploymentDecider,
      command: { type: 'TimeOutPods', timeoutSeconds: podsTimeoutSeconds, now },
    })),
  ];
};
