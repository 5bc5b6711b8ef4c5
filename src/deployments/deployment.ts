import type { TestsResult } from '../testing/results.js';
import type { DeploymentEvent, DeploymentPlan, Step } from './events.js';
import { statusAtStep, type DeploymentStatus } from './status.js';

interface DeploymentFacts {
  readonly deploymentId: string;
  readonly sessionId: string;
  readonly plan: DeploymentPlan;
  readonly expiresAt: string | null;
  /** Steps finished (done or skipped), in order. */
  readonly completed: readonly Step[];
  /** The step under way, if any, since when, and its latest news (a pod's state). */
  readonly running: Step | null;
  readonly runningSince: string | null;
  readonly lastProgress: string | null;
  /** The latest test results. */
  readonly tests: TestsResult | null;
  /** A rerun asked for and not yet finished. */
  readonly rerun: string | null;
}

/** The contract's status machine: awaiting_confirmation → confirmed → deploying → testing → succeeded | failed; rejected and expired end it early. */
export type Deployment =
  | { readonly status: 'none' }
  | ({ readonly status: 'awaiting_confirmation' } & DeploymentFacts)
  | ({ readonly status: 'confirmed' } & DeploymentFacts)
  | ({ readonly status: 'deploying' } & DeploymentFacts)
  | ({ readonly status: 'testing' } & DeploymentFacts)
  | ({ readonly status: 'succeeded' } & DeploymentFacts)
  | ({ readonly status: 'failed' } & DeploymentFacts & { readonly failedStep: Step | null; readonly reason: string })
  | ({ readonly status: 'rejected' } & DeploymentFacts)
  | ({ readonly status: 'expired' } & DeploymentFacts);

// The union above names the contract's statuses (./status.ts), no more and no fewer, and 'none'.
type Named = Exclude<Deployment['status'], 'none'>;
const sameStatuses: [Named, DeploymentStatus] extends [DeploymentStatus, Named] ? true : never = true;
void sameStatuses;

export const initialDeployment = (): Deployment => ({ status: 'none' });

/** The next step to run once `completed` are done. */
export const nextStep = (plan: DeploymentPlan, completed: readonly Step[]): Step | undefined =>
  plan.steps.find((step) => !completed.includes(step));

const factsOf = (state: Exclude<Deployment, { status: 'none' }>): DeploymentFacts => ({
  deploymentId: state.deploymentId,
  sessionId: state.sessionId,
  plan: state.plan,
  expiresAt: state.expiresAt,
  completed: state.completed,
  running: state.running,
  runningSince: state.runningSince,
  lastProgress: state.lastProgress,
  tests: state.tests,
  rerun: state.rerun,
});

export const evolveDeployment = (state: Deployment, event: DeploymentEvent): Deployment => {
  if (event.type === 'DeploymentRequested') {
    return {
      status: 'awaiting_confirmation',
      deploymentId: event.data.deployment_id,
      sessionId: event.data.session_id,
      plan: event.data.plan,
      expiresAt: null,
      completed: [],
      running: null,
      runningSince: null,
      lastProgress: null,
      tests: null,
      rerun: null,
    };
  }
  if (state.status === 'none') return state;
  const facts = factsOf(state);
  switch (event.type) {
    case 'ConfirmationRequested':
      return { ...state, expiresAt: event.data.expires_at };
    case 'DeploymentConfirmed':
      return { status: 'confirmed', ...facts };
    case 'DeploymentRejected':
      return { status: 'rejected', ...facts };
    case 'DeploymentExpired':
      return { status: 'expired', ...facts };
    case 'DeploymentStepStarted':
      return {
        status: statusAtStep(event.data.step),
        ...facts,
        running: event.data.step,
        runningSince: event.data.started_at,
        lastProgress: null,
      };
    case 'DeploymentProgressed':
      return { ...state, lastProgress: event.data.message };
    case 'DeploymentStepCompleted':
      return {
        ...state,
        completed: [...facts.completed, event.data.step],
        running: null,
        runningSince: null,
        lastProgress: null,
      };
    case 'PodsReady':
      return {
        ...state,
        completed: [...facts.completed, 'pods_ready'],
        running: null,
        runningSince: null,
        lastProgress: null,
      };
    case 'TestsFinished': {
      const recorded = { ...facts, tests: event.data.tests };
      // A rerun's results bring the deployment back to where it was: its lab is still up.
      return facts.rerun === event.data.run_id
        ? { status: 'succeeded', ...recorded, rerun: null }
        : { ...state, ...recorded };
    }
    case 'TestsRerunRequested':
      return { status: 'testing', ...facts, rerun: event.data.run_id };
    case 'DeploymentSucceeded':
      return { status: 'succeeded', ...facts, running: null, runningSince: null };
    case 'DeploymentFailed':
      return {
        status: 'failed',
        ...facts,
        running: null,
        runningSince: null,
        failedStep: event.data.step,
        reason: event.data.reason,
      };
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
};
