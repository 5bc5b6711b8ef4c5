import { deploymentIdOf, type DeploymentEvent, type DeploymentPlan, type Step } from './events.js';
import type { TestsResult } from '../testing/results.js';
import type { StoredEvent } from '../events/stored-event.js';
import type { DocumentProjection } from '../projections/projection.js';
import { statusAtStep, type DeploymentStatus } from './status.js';

interface StepView {
  readonly name: Step;
  readonly status: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
  readonly started_at: string | null;
  readonly finished_at: string | null;
  readonly detail: string | null;
}

/** The contract's deployment view, as GET /api/deployments/{id} serves it. */
export interface DeploymentView {
  readonly deployment_id: string;
  readonly session_id: string;
  readonly branch: string;
  readonly status: DeploymentStatus;
  readonly plan: DeploymentPlan;
  readonly steps: readonly StepView[];
  /** The lab's URL once its ingress exists. */
  readonly url: string | null;
  readonly tests: TestsResult | null;
  readonly error: string | null;
  readonly expires_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly revision: number;
}

/** What the `pods_ready` step says when it is done. */
export const podsReadyDetail = (pods: number): string => `${pods} pod${pods === 1 ? '' : 's'} ready`;

const withStep = (view: DeploymentView, name: Step, change: (step: StepView) => StepView): readonly StepView[] =>
  view.steps.map((step) => (step.name === name ? change(step) : step));

/** What every event changes in the view: when, and at which revision of the stream. */
type Stamp = Pick<DeploymentView, 'updated_at' | 'revision'>;
type DeploymentEventOfType<Type extends DeploymentEvent['type']> = Extract<DeploymentEvent, { type: Type }>;

const requestedView = (event: DeploymentEventOfType<'DeploymentRequested'>, stamp: Stamp): DeploymentView => ({
  deployment_id: event.data.deployment_id,
  session_id: event.data.session_id,
  branch: event.data.branch,
  status: 'awaiting_confirmation',
  plan: event.data.plan,
  steps: event.data.plan.steps.map((name) => ({
    name,
    status: 'pending',
    started_at: null,
    finished_at: null,
    detail: null,
  })),
  url: null,
  tests: null,
  error: null,
  expires_at: null,
  created_at: event.data.requested_at,
  ...stamp,
});

const afterStepStarted = (
  view: DeploymentView,
  event: DeploymentEventOfType<'DeploymentStepStarted'>,
  stamp: Stamp,
): DeploymentView => ({
  ...view,
  ...stamp,
  status: statusAtStep(event.data.step),
  steps: withStep(view, event.data.step, (step) => ({
    ...step,
    status: 'running',
    started_at: event.data.started_at,
    detail: event.data.message,
  })),
});

const afterStepCompleted = (
  view: DeploymentView,
  event: DeploymentEventOfType<'DeploymentStepCompleted'>,
  stamp: Stamp,
): DeploymentView => ({
  ...view,
  ...stamp,
  url: event.data.step === 'ingress' && event.data.status === 'done' ? view.plan.url : view.url,
  steps: withStep(view, event.data.step, (step) => ({
    ...step,
    status: event.data.status,
    finished_at: event.data.finished_at,
    detail: event.data.detail,
  })),
});

const afterPodsReady = (
  view: DeploymentView,
  event: DeploymentEventOfType<'PodsReady'>,
  stamp: Stamp,
): DeploymentView => ({
  ...view,
  ...stamp,
  steps: withStep(view, 'pods_ready', (step) => ({
    ...step,
    status: 'done',
    finished_at: event.data.ready_at,
    detail: podsReadyDetail(event.data.pods),
  })),
});

const afterTestsFinished = (
  view: DeploymentView,
  event: DeploymentEventOfType<'TestsFinished'>,
  stamp: Stamp,
): DeploymentView => {
  // During the tests step the deployment stays testing until it succeeds; after a rerun it is back to succeeded.
  const duringTestsStep = view.steps.some((step) => step.name === 'tests' && step.status === 'running');
  return {
    ...view,
    ...stamp,
    tests: event.data.tests,
    status: view.status === 'testing' && !duringTestsStep ? 'succeeded' : view.status,
  };
};

const afterDeploymentFailed = (
  view: DeploymentView,
  event: DeploymentEventOfType<'DeploymentFailed'>,
  stamp: Stamp,
): DeploymentView => {
  const failedStep = event.data.step;
  return {
    ...view,
    ...stamp,
    status: 'failed',
    error: failedStep ? `${failedStep}: ${event.data.reason}` : event.data.reason,
    steps: failedStep
      ? withStep(view, failedStep, (step) => ({
          ...step,
          status: 'failed',
          finished_at: event.data.failed_at,
          detail: event.data.reason,
        }))
      : view.steps,
  };
};

export const evolveDeploymentView = (
  view: DeploymentView | undefined,
  stored: StoredEvent<DeploymentEvent>,
): DeploymentView | undefined => {
  const event = stored.event;
  const stamp: Stamp = { updated_at: stored.metadata.recorded_at, revision: stored.revision };
  if (event.type === 'DeploymentRequested') return requestedView(event, stamp);
  if (!view) return undefined;
  switch (event.type) {
    case 'ConfirmationRequested':
      return { ...view, ...stamp, expires_at: event.data.expires_at };
    case 'DeploymentConfirmed':
      return { ...view, ...stamp, status: 'confirmed', expires_at: null };
    case 'DeploymentRejected':
      return { ...view, ...stamp, status: 'rejected', expires_at: null, error: event.data.reason };
    case 'DeploymentExpired':
      return { ...view, ...stamp, status: 'expired', expires_at: null };
    case 'DeploymentStepStarted':
      return afterStepStarted(view, event, stamp);
    case 'DeploymentProgressed':
      return {
        ...view,
        ...stamp,
        steps: withStep(view, event.data.step, (step) => ({ ...step, detail: event.data.message })),
      };
    case 'DeploymentStepCompleted':
      return afterStepCompleted(view, event, stamp);
    case 'PodsReady':
      return afterPodsReady(view, event, stamp);
    case 'TestsFinished':
      return afterTestsFinished(view, event, stamp);
    case 'TestsRerunRequested':
      return { ...view, ...stamp, status: 'testing' };
    case 'DeploymentSucceeded':
      return { ...view, ...stamp, status: 'succeeded', url: event.data.url };
    case 'DeploymentFailed':
      return afterDeploymentFailed(view, event, stamp);
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
};

/** One view per deployment, folded from its stream. */
export const deploymentViews: DocumentProjection<DeploymentView> = {
  name: 'deployment-views',
  documentIdsOf: (stored) => {
    const id = deploymentIdOf(stored.stream);
    return id === undefined ? [] : [id];
  },
  evolve: (view, stored) => evolveDeploymentView(view, stored as StoredEvent<DeploymentEvent>),
};
