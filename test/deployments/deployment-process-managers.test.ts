import test from 'ava';
import { deploymentDecider, STEP_MESSAGES } from '../../src/deployments/decider.js';
import type { DeploymentEvent, Step } from '../../src/deployments/events.js';
import { deploymentExecutor, testTargetOf } from '../../src/deployments/executor-process.js';
import { deploymentNews } from '../../src/deployments/session-news-process.js';
import { namespaceKeeper } from '../../src/labs/namespace-keeper-process.js';
import type { NamespaceEvent } from '../../src/labs/events.js';
import { samplePlan } from '../support/deployment-plan.js';
import { storedEvents } from '../support/stored-events.js';

/** Given one stored event, when the process manager reacts, then these reactions (pure: no store, no cluster). */
const on = (stream: string, event: DeploymentEvent | NamespaceEvent) => storedEvents([{ stream, event }])[0]!;
const at = '2030-01-01T00:00:00.000Z';
const started = (step: Step): DeploymentEvent => ({
  type: 'DeploymentStepStarted',
  data: { step, message: STEP_MESSAGES[step], started_at: at },
});
const completed = (step: Step): DeploymentEvent => ({
  type: 'DeploymentStepCompleted',
  data: { step, status: 'done', detail: 'ok', finished_at: at },
});

test('executor: a confirmation starts the first step; a started step asks for its work; what starts each next step is the decider, with the outcome', (t) => {
  t.like(deploymentExecutor.react(on('deployment-d1', started('pvcs'))), [
    { type: 'effect', stream: 'deployment-d1', effect: { kind: 'run-step', deploymentId: 'd1', step: 'pvcs' } },
  ]);
  const [first] = deploymentExecutor.react(
    on('deployment-d1', { type: 'DeploymentConfirmed', data: { confirmed_by: 'ann', confirmed_at: at } }),
  );
  t.like(first, { type: 'command', stream: 'deployment-d1', decider: deploymentDecider });
  t.deepEqual(
    (first as { command: unknown }).command,
    { type: 'StartStep', step: 'namespace', now: new Date(at) },
    'a confirmation starts the first step',
  );
  t.deepEqual(
    deploymentExecutor.react(on('deployment-d1', completed('ingress'))),
    [],
    'the completion’s append started the next',
  );
  t.deepEqual(deploymentExecutor.react(on('deployment-d1', completed('tests'))), []);
});

test('executor: nothing to do about plans, answers that end a deployment, progress or other streams', (t) => {
  const none: DeploymentEvent[] = [
    {
      type: 'DeploymentRequested',
      data: {
        deployment_id: 'd1',
        session_id: 's1',
        branch: 'b',
        repo: 'api',
        commit: 'c',
        plan: samplePlan,
        requested_at: at,
      },
    },
    { type: 'DeploymentRejected', data: { rejected_by: 'ann', reason: null, rejected_at: at } },
    { type: 'DeploymentFailed', data: { step: 'rbac', reason: 'no', failed_at: at } },
    { type: 'DeploymentProgressed', data: { step: 'pods_ready', message: 'Pending', at } },
  ];
  for (const event of none) t.deepEqual(deploymentExecutor.react(on('deployment-d1', event)), [], event.type);
  t.deepEqual(deploymentExecutor.react(on('session-s1', started('namespace'))), []);
});

test('deployment news: each status change is told to the session, once per status', (t) => {
  const news = (event: DeploymentEvent) =>
    deploymentNews.react(on('deployment-d1', event)).map((reaction) => (reaction as { effect: unknown }).effect);
  t.like(news({ type: 'ConfirmationRequested', data: { expires_at: at } }), [
    { kind: 'record-on-session', deploymentId: 'd1', status: 'awaiting_confirmation' },
  ]);
  t.like(news(started('namespace')), [{ status: 'deploying' }]);
  t.like(news(started('tests')), [{ status: 'testing' }]);
  t.like(news({ type: 'DeploymentSucceeded', data: { url: 'https://x', all_passing: true, succeeded_at: at } }), [
    { status: 'succeeded', url: 'https://x' },
  ]);
  t.like(news({ type: 'DeploymentFailed', data: { step: 'pods_ready', reason: 'CrashLoopBackOff', failed_at: at } }), [
    { status: 'failed', step: 'pods_ready', reason: 'CrashLoopBackOff' },
  ]);
  t.like(news({ type: 'DeploymentExpired', data: { expired_at: at } }), [{ status: 'expired' }]);
  t.deepEqual(news(completed('rbac')), []);
});

test('namespace keeper: a requested deletion deletes the namespace, nothing else does', (t) => {
  t.like(
    namespaceKeeper.react(
      on('namespace-billing-lab', {
        type: 'NamespaceDeletionRequested',
        data: { name: 'billing-lab', requested_by: 'ops', requested_at: at },
      }),
    ),
    [{ type: 'effect', stream: 'namespace-billing-lab', effect: { kind: 'delete-namespace', name: 'billing-lab' } }],
  );
  t.deepEqual(
    namespaceKeeper.react(
      on('namespace-billing-lab', {
        type: 'NamespaceDeletionScheduled',
        data: { name: 'billing-lab', scheduled_for: at, requested_by: 'ops', requested_at: at },
      }),
    ),
    [],
  );
});

test('tests reach the lab at its ingress URL, or where deployment.test_url says', (t) => {
  const lab = { namespace: 'billing-lab', project: 'billing', url: 'https://billing.lab.example.com' };
  t.is(testTargetOf('', lab), 'https://billing.lab.example.com');
  t.is(testTargetOf('http://app.{namespace}.svc.cluster.local', lab), 'http://app.billing-lab.svc.cluster.local');
  t.is(testTargetOf('http://{project}.internal:8080/{project}', lab), 'http://billing.internal:8080/billing');
});

test('executor: every outcome of a step’s work goes through the deployment decider; pods_ready asks the executor for nothing', (t) => {
  const [work] = deploymentExecutor.react(on('deployment-d1', started('manifests')));
  t.like(work, {
    type: 'effect',
    stream: 'deployment-d1',
    decider: deploymentDecider,
    effect: { kind: 'run-step', step: 'manifests' },
  });
  t.like(deploymentExecutor.react(on('deployment-d1', started('tests'))), [
    { type: 'effect', decider: deploymentDecider, effect: { kind: 'run-tests', deploymentId: 'd1', runId: 'deploy' } },
  ]);
  t.deepEqual(
    deploymentExecutor.react(on('deployment-d1', started('pods_ready'))),
    [],
    'waiting is not work: the pods watch records what it sees',
  );
  t.deepEqual(
    deploymentExecutor.react(
      on('deployment-d1', { type: 'PodsReady', data: { namespace: 'billing-lab', pods: 2, ready_at: at } }),
    ),
    [],
    'its append started the tests',
  );
  t.like(
    deploymentExecutor.react(
      on('deployment-d1', {
        type: 'TestsRerunRequested',
        data: { run_id: 'r-1', requested_by: 'ann', requested_at: at },
      }),
    ),
    [{ type: 'effect', decider: deploymentDecider, effect: { kind: 'run-tests', runId: 'r-1' } }],
  );
  // The namespace's own record is another aggregate: a reaction of its own, after the step.
  const afterNamespace = deploymentExecutor.react(on('deployment-d1', completed('namespace')));
  t.like(afterNamespace, [{ type: 'effect', effect: { kind: 'record-namespace', deploymentId: 'd1' } }]);
  t.is((afterNamespace[0] as { decider?: unknown }).decider, undefined);
});
