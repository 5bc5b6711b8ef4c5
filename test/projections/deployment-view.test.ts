import test from 'ava';
import { deploymentViews } from '../../src/deployments/deployment-view.js';
import type { DeploymentEvent } from '../../src/deployments/events.js';
import { samplePlan } from '../support/deployment-plan.js';
import type { StoredEvent } from '../../src/events/stored-event.js';
import { foldDocuments } from '../../src/projections/projection.js';

const plan = samplePlan;

const stream = (events: DeploymentEvent[]): StoredEvent[] =>
  events.map((event, revision) => ({
    id: `e-${revision}`,
    stream: 'deployment-d-1',
    revision,
    position: revision,
    event,
    metadata: {
      actor: 'a',
      correlation_id: 'c',
      causation_id: 'r',
      recorded_at: `2030-01-01T10:00:${String(revision).padStart(2, '0')}.000Z`,
      hash: 'h',
    },
  }));

const requested: DeploymentEvent[] = [
  {
    type: 'DeploymentRequested',
    data: {
      deployment_id: 'd-1',
      session_id: 's-1',
      branch: 'builder/platform-billing',
      repo: 'api',
      commit: 'abc',
      plan,
      requested_at: 'T0',
    },
  },
  { type: 'ConfirmationRequested', data: { expires_at: 'T15' } },
];

test('the deployment view shows the plan, every step’s state, the URL once the ingress exists, and the failure', (t) => {
  const waiting = foldDocuments(deploymentViews, stream(requested)).get('d-1')!;
  t.like(waiting, {
    status: 'awaiting_confirmation',
    expires_at: 'T15',
    url: null,
    error: null,
    revision: 1,
    created_at: 'T0',
  });
  t.true(waiting.steps.every((step) => step.status === 'pending'));
  const running = foldDocuments(
    deploymentViews,
    stream([
      ...requested,
      { type: 'DeploymentConfirmed', data: { confirmed_by: 'ann', confirmed_at: 'T1' } },
      { type: 'DeploymentStepStarted', data: { step: 'namespace', message: 'creating billing-lab', started_at: 'T2' } },
      {
        type: 'DeploymentStepCompleted',
        data: { step: 'namespace', status: 'done', detail: 'billing-lab', finished_at: 'T3' },
      },
      { type: 'DeploymentStepStarted', data: { step: 'rbac', message: 'lab service account', started_at: 'T4' } },
    ]),
  ).get('d-1')!;
  t.like(running, { status: 'deploying', expires_at: null });
  t.deepEqual(running.steps.slice(0, 3), [
    { name: 'namespace', status: 'done', started_at: 'T2', finished_at: 'T3', detail: 'billing-lab' },
    { name: 'rbac', status: 'running', started_at: 'T4', finished_at: null, detail: 'lab service account' },
    { name: 'configmaps', status: 'pending', started_at: null, finished_at: null, detail: null },
  ]);
  const failed = foldDocuments(
    deploymentViews,
    stream([
      ...requested,
      { type: 'DeploymentConfirmed', data: { confirmed_by: 'ann', confirmed_at: 'T1' } },
      ...(['namespace', 'rbac', 'configmaps', 'pvcs', 'manifests', 'ingress'] as const).flatMap(
        (step): DeploymentEvent[] => [
          { type: 'DeploymentStepStarted', data: { step, message: step, started_at: 'T' } },
          {
            type: 'DeploymentStepCompleted',
            data: { step, status: step === 'pvcs' ? 'skipped' : 'done', detail: step, finished_at: 'T' },
          },
        ],
      ),
      { type: 'DeploymentStepStarted', data: { step: 'pods_ready', message: 'waiting', started_at: 'T' } },
      {
        type: 'DeploymentFailed',
        data: { step: 'pods_ready', reason: 'CrashLoopBackOff: app exited 1', failed_at: 'T9' },
      },
    ]),
  ).get('d-1')!;
  t.like(failed, {
    status: 'failed',
    url: 'https://billing.builder.lab.ctoaas.co',
    error: 'pods_ready: CrashLoopBackOff: app exited 1',
  });
  t.like(
    failed.steps.find((step) => step.name === 'pvcs'),
    { status: 'skipped' },
  );
  t.like(
    failed.steps.find((step) => step.name === 'pods_ready'),
    { status: 'failed', detail: 'CrashLoopBackOff: app exited 1' },
  );
  t.like(
    failed.steps.find((step) => step.name === 'tests'),
    { status: 'pending' },
  );
});

test('rejected and expired deployments end early; other streams are not deployments', (t) => {
  t.like(
    foldDocuments(
      deploymentViews,
      stream([
        ...requested,
        { type: 'DeploymentRejected', data: { rejected_by: 'ann', reason: 'not today', rejected_at: 'T1' } },
      ]),
    ).get('d-1'),
    { status: 'rejected', error: 'not today' },
  );
  t.like(
    foldDocuments(
      deploymentViews,
      stream([...requested, { type: 'DeploymentExpired', data: { expired_at: 'T15' } }]),
    ).get('d-1'),
    { status: 'expired', expires_at: null },
  );
  t.is(
    foldDocuments(
      deploymentViews,
      stream(requested).map((stored) => ({ ...stored, stream: 'session-s-1' })),
    ).size,
    0,
  );
});
