import type { DeploymentView } from './deployment-view.js';
import { ProblemError } from '../api/problem.js';
import { isRunning } from './status.js';

/**
 * One deployment at a time per lab: two running into one namespace would apply over each other.
 * A confirmation while another deployment of the same lab runs is a 409 naming it. (Two
 * confirmations in the same instant can both pass; the later one's objects then win.)
 */
export const assertLabFree = (views: Iterable<DeploymentView>, deploymentId: string): void => {
  const all = [...views];
  const mine = all.find((view) => view.deployment_id === deploymentId);
  if (!mine) return; // unknown: the decider answers 404
  const running = all.find(
    (view) =>
      view.deployment_id !== deploymentId && view.plan.namespace === mine.plan.namespace && isRunning(view.status),
  );
  if (running)
    throw new ProblemError(
      409,
      `deployment ${running.deployment_id} of lab ${mine.plan.namespace} is ${running.status}; confirm this one once it has ended (the deployment is ${mine.status})`,
    );
};
