import type { Context } from 'koa';
import type { DeploymentView } from './deployment-view.js';
import { answerCommand } from '../api/answer-command.js';
import type { EventLog } from '../events/event-log.js';
import type { DocumentProjectionRunner } from '../projections/runner.js';
import { deploymentDecider, type DeploymentCommand } from './decider.js';
import { deploymentStream } from './events.js';
import { assertLabFree } from './lab-busy.js';

export interface DeploymentCommandDeps {
  readonly eventLog: EventLog;
  readonly views: DocumentProjectionRunner<DeploymentView>;
  /** What a client sees of a view now (a deleted lab has no URL any more). */
  readonly present?: (view: DeploymentView) => DeploymentView;
  readonly viewWaitMs: number;
}

/**
 * Runs a command on one deployment and answers as the API does (202 with the view, or a
 * problem), whoever asked: the API or a Slack button. A confirmation while another deployment of
 * the same lab runs is refused with a 409 naming it.
 */
export const runDeploymentCommand = (
  ctx: Context,
  deps: DeploymentCommandDeps,
  deploymentId: string,
  command: DeploymentCommand,
): Promise<void> => {
  if (command.type === 'ConfirmDeployment') assertLabFree(deps.views.getState().values(), deploymentId);
  return answerCommand(
    ctx,
    {
      eventLog: deps.eventLog,
      stream: deploymentStream(deploymentId),
      decider: deploymentDecider,
      command,
      views: deps.views,
      id: deploymentId,
      location: `/api/deployments/${deploymentId}`,
      viewWaitMs: deps.viewWaitMs,
    },
    deps.present,
  );
};
