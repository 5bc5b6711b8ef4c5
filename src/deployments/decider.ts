import * as E from 'fp-ts/lib/Either.js';
import { accept, refusalsOf, type Decider } from '../commands/decider.js';
import type { DomainError } from '../commands/domain-error.js';
import { evolveDeployment, initialDeployment, nextStep, type Deployment } from './deployment.js';
import type { TestsResult } from '../testing/results.js';
import type { DeploymentEvent, DeploymentPlan, Step } from './events.js';
import { isRunning } from './status.js';

/** The run id of the tests a deployment runs as its own step; reruns have their own ids. */
export const DEPLOY_RUN = 'deploy';

/** What a person reads in Slack and on the progress stream as each step begins. */
export const STEP_MESSAGES: Readonly<Record<Step, string>> = {
  namespace: 'Creating the lab namespace',
  rbac: 'Setting up the lab’s service account, role, quota and limits',
  configmaps: 'Shipping the code in ConfigMaps',
  pvcs: 'Preparing the volume for large files',
  manifests: 'Applying the workload (Deployment and Service)',
  ingress: 'Opening the HTTPS ingress',
  pods_ready: 'Waiting for the pods to be ready',
  tests: 'Running the tests',
};

export type DeploymentCommand =
  | {
      readonly type: 'RequestDeployment';
      readonly deploymentId: string;
      readonly sessionId: string;
      readonly branch: string;
      readonly repo: string;
      readonly commit: string;
      readonly plan: DeploymentPlan;
      /** Seconds a person has to confirm. */
      readonly confirmationTimeout: number;
      readonly now: Date;
    }
  | { readonly type: 'ConfirmDeployment'; readonly confirmedBy: string; readonly now: Date }
  | {
      readonly type: 'RejectDeployment';
      readonly rejectedBy: string;
      readonly reason: string | null;
      readonly now: Date;
    }
  /** The deadline timer's command: a no-op when it fires early or after an answer. */
  | { readonly type: 'ExpireDeployment'; readonly now: Date }
  /** The executor's, once a deployment is confirmed (later steps start with the end of the one before). */
  | { readonly type: 'StartStep'; readonly step: Step; readonly now: Date }
  | { readonly type: 'ReportProgress'; readonly step: Step; readonly message: string; readonly now: Date }
  | {
      readonly type: 'CompleteStep';
      readonly step: Step;
      readonly status: 'done' | 'skipped';
      readonly detail: string;
      readonly now: Date;
    }
  | { readonly type: 'FailDeployment'; readonly step: Step | null; readonly reason: string; readonly now: Date }
  /** The pods watch saw every pod of the lab ready. */
  | { readonly type: 'RecordPodsReady'; readonly namespace: string; readonly pods: number; readonly now: Date }
  /** The deadline timer's command: the pods had `timeoutSeconds` to be ready; a no-op when early or answered. */
  | { readonly type: 'TimeOutPods'; readonly timeoutSeconds: number; readonly now: Date }
  /** A run's results: the deployment's own (`deploy`, which ends the tests step with `detail`) or a rerun's. */
  | {
      readonly type: 'RecordTestsFinished';
      readonly runId: string;
      readonly tests: TestsResult;
      readonly artifacts: Readonly<Record<string, string>>;
      readonly detail: string;
      readonly now: Date;
    }
  | { readonly type: 'RequestTestsRerun'; readonly runId: string; readonly requestedBy: string; readonly now: Date };

type Decision = E.Either<DomainError, readonly DeploymentEvent[]>;

/** One kind of command, by its type. */
type CommandOf<Type extends DeploymentCommand['type']> = Extract<DeploymentCommand, { type: Type }>;

/** A deployment that was requested, whatever its status since: every command but the request needs one. */
type ExistingDeployment = Exclude<Deployment, { status: 'none' }>;

/** A command not allowed in the deployment's status. */
const refused = refusalsOf('deployment');
/**
 * What follows once `completed` are done, in the same append as what ended the last of them: the
 * next step of the plan starts, or, after the last, the deployment succeeds (judged by `tests`,
 * the results recorded in that append when there are some).
 */
const continuation = (
  state: ExistingDeployment,
  completed: readonly Step[],
  at: string,
  tests: TestsResult | null = state.tests,
): DeploymentEvent => {
  const next = nextStep(state.plan, completed);
  return next
    ? { type: 'DeploymentStepStarted', data: { step: next, message: STEP_MESSAGES[next], started_at: at } }
    : {
        type: 'DeploymentSucceeded',
        data: { url: state.plan.url, all_passing: tests?.all_passing ?? false, succeeded_at: at },
      };
};

const executing = (state: Deployment): boolean => state.status !== 'none' && isRunning(state.status);

const decideRequestDeployment = (state: Deployment, command: CommandOf<'RequestDeployment'>): Decision => {
  if (state.status !== 'none') return refused(state.status, `deployment ${command.deploymentId} exists already`);
  return accept(
    {
      type: 'DeploymentRequested',
      data: {
        deployment_id: command.deploymentId,
        session_id: command.sessionId,
        branch: command.branch,
        repo: command.repo,
        commit: command.commit,
        plan: command.plan,
        requested_at: command.now.toISOString(),
      },
    },
    {
      type: 'ConfirmationRequested',
      data: { expires_at: new Date(command.now.getTime() + command.confirmationTimeout * 1000).toISOString() },
    },
  );
};

const decideConfirmDeployment = (state: ExistingDeployment, command: CommandOf<'ConfirmDeployment'>): Decision => {
  if (state.status !== 'awaiting_confirmation')
    return refused(state.status, 'only a deployment awaiting confirmation can be confirmed');
  // The first step starts in an append of its own: `confirmed` is a status a person sees.
  return accept({
    type: 'DeploymentConfirmed',
    data: { confirmed_by: command.confirmedBy, confirmed_at: command.now.toISOString() },
  });
};

const decideRejectDeployment = (state: ExistingDeployment, command: CommandOf<'RejectDeployment'>): Decision => {
  if (state.status !== 'awaiting_confirmation')
    return refused(state.status, 'only a deployment awaiting confirmation can be rejected');
  return accept({
    type: 'DeploymentRejected',
    data: { rejected_by: command.rejectedBy, reason: command.reason, rejected_at: command.now.toISOString() },
  });
};

const decideExpireDeployment = (state: ExistingDeployment, command: CommandOf<'ExpireDeployment'>): Decision => {
  if (
    state.status !== 'awaiting_confirmation' ||
    state.expiresAt === null ||
    command.now.getTime() < Date.parse(state.expiresAt)
  )
    return accept();
  return accept({ type: 'DeploymentExpired', data: { expired_at: command.now.toISOString() } });
};

const decideStartStep = (state: ExistingDeployment, command: CommandOf<'StartStep'>): Decision => {
  if (!executing(state)) return refused(state.status, 'steps run only in a confirmed deployment');
  if (state.running === command.step) return accept(); // started already: a retry after a crash
  if (state.running !== null) return refused(state.status, `step ${state.running} is still running`);
  const next = nextStep(state.plan, state.completed);
  if (next !== command.step) return refused(state.status, `the next step is ${next ?? 'none'}, not ${command.step}`);
  return accept({
    type: 'DeploymentStepStarted',
    data: { step: command.step, message: STEP_MESSAGES[command.step], started_at: command.now.toISOString() },
  });
};

const decideReportProgress = (state: ExistingDeployment, command: CommandOf<'ReportProgress'>): Decision => {
  if (!executing(state) || state.running !== command.step)
    return refused(state.status, `step ${command.step} is not running`);
  return accept({
    type: 'DeploymentProgressed',
    data: { step: command.step, message: command.message, at: command.now.toISOString() },
  });
};

const decideCompleteStep = (state: ExistingDeployment, command: CommandOf<'CompleteStep'>): Decision => {
  if (state.completed.includes(command.step)) return accept();
  if (!executing(state) || state.running !== command.step)
    return refused(state.status, `step ${command.step} is not running`);
  const at = command.now.toISOString();
  return accept(
    {
      type: 'DeploymentStepCompleted',
      data: { step: command.step, status: command.status, detail: command.detail, finished_at: at },
    },
    continuation(state, [...state.completed, command.step], at),
  );
};

const decideFailDeployment = (state: ExistingDeployment, command: CommandOf<'FailDeployment'>): Decision => {
  if (!executing(state)) return refused(state.status, 'only a running deployment can fail');
  return accept({
    type: 'DeploymentFailed',
    data: { step: command.step, reason: command.reason, failed_at: command.now.toISOString() },
  });
};

const decideRecordPodsReady = (state: ExistingDeployment, command: CommandOf<'RecordPodsReady'>): Decision => {
  if (state.completed.includes('pods_ready')) return accept(); // seen twice (a watch resumed): recorded once
  if (!executing(state) || state.running !== 'pods_ready')
    return refused(state.status, 'step pods_ready is not running');
  const at = command.now.toISOString();
  return accept(
    { type: 'PodsReady', data: { namespace: command.namespace, pods: command.pods, ready_at: at } },
    continuation(state, [...state.completed, 'pods_ready'], at),
  );
};

const decideTimeOutPods = (state: ExistingDeployment, command: CommandOf<'TimeOutPods'>): Decision => {
  if (!executing(state) || state.running !== 'pods_ready' || state.runningSince === null) return accept();
  if (command.now.getTime() < Date.parse(state.runningSince) + command.timeoutSeconds * 1000) return accept();
  return accept({
    type: 'DeploymentFailed',
    data: {
      step: 'pods_ready',
      reason: `the pods were not ready after ${command.timeoutSeconds} s: ${state.lastProgress ?? 'no pod was created'}`,
      failed_at: command.now.toISOString(),
    },
  });
};

const decideRecordTestsFinished = (state: ExistingDeployment, command: CommandOf<'RecordTestsFinished'>): Decision => {
  const at = command.now.toISOString();
  const finished: DeploymentEvent = {
    type: 'TestsFinished',
    data: { run_id: command.runId, tests: command.tests, artifacts: { ...command.artifacts }, finished_at: at },
  };
  if (command.runId === DEPLOY_RUN) {
    if (state.completed.includes('tests')) return accept(); // recorded already: a retry after a crash
    if (!executing(state) || state.running !== 'tests') return refused(state.status, 'step tests is not running');
    return accept(
      finished,
      {
        type: 'DeploymentStepCompleted',
        data: { step: 'tests', status: 'done', detail: command.detail, finished_at: at },
      },
      continuation(state, [...state.completed, 'tests'], at, command.tests),
    );
  }
  if (state.rerun !== command.runId)
    return refused(state.status, `no rerun ${command.runId} is waiting for its results`);
  return accept(finished);
};

const decideRequestTestsRerun = (state: ExistingDeployment, command: CommandOf<'RequestTestsRerun'>): Decision => {
  // The executor records the results (TestsFinished) with the run's id, which brings the deployment back to succeeded.
  if (state.status !== 'succeeded')
    return refused(state.status, 'tests run again only against a lab that is up (a succeeded deployment)');
  return accept({
    type: 'TestsRerunRequested',
    data: { run_id: command.runId, requested_by: command.requestedBy, requested_at: command.now.toISOString() },
  });
};

const decideDeployment = (command: DeploymentCommand, state: Deployment): Decision => {
  if (command.type === 'RequestDeployment') return decideRequestDeployment(state, command);
  if (state.status === 'none') return E.left({ kind: 'not_found', detail: 'no such deployment' });
  switch (command.type) {
    case 'ConfirmDeployment':
      return decideConfirmDeployment(state, command);
    case 'RejectDeployment':
      return decideRejectDeployment(state, command);
    case 'ExpireDeployment':
      return decideExpireDeployment(state, command);
    case 'StartStep':
      return decideStartStep(state, command);
    case 'ReportProgress':
      return decideReportProgress(state, command);
    case 'CompleteStep':
      return decideCompleteStep(state, command);
    case 'FailDeployment':
      return decideFailDeployment(state, command);
    case 'RecordPodsReady':
      return decideRecordPodsReady(state, command);
    case 'TimeOutPods':
      return decideTimeOutPods(state, command);
    case 'RecordTestsFinished':
      return decideRecordTestsFinished(state, command);
    case 'RequestTestsRerun':
      return decideRequestTestsRerun(state, command);
    default: {
      const unexpected: never = command;
      return unexpected;
    }
  }
};

export const deploymentDecider: Decider<DeploymentCommand, DeploymentEvent, Deployment> = {
  initialState: initialDeployment,
  evolve: evolveDeployment,
  decide: decideDeployment,
};
