import test from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import { foldEvents } from '../../src/commands/decider.js';
import { deploymentDecider, STEP_MESSAGES, type DeploymentCommand } from '../../src/deployments/decider.js';
import { STEPS, type DeploymentEvent, type Step } from '../../src/deployments/events.js';
import { samplePlan } from '../support/deployment-plan.js';
import { deciderSpec } from '../support/decider-spec.js';

const now = new Date('2030-01-01T10:00:00.000Z');
const at = now.toISOString();
const later = new Date('2030-01-01T10:15:00.000Z');
const spec = deciderSpec(deploymentDecider);

const plan = samplePlan;

const requested: DeploymentEvent = {
  type: 'DeploymentRequested',
  data: {
    deployment_id: 'd-1',
    session_id: 's-1',
    branch: 'builder/platform-billing',
    repo: 'api',
    commit: 'abc',
    plan,
    requested_at: at,
  },
};
const confirmation: DeploymentEvent = {
  type: 'ConfirmationRequested',
  data: { expires_at: '2030-01-01T10:15:00.000Z' },
};
const confirmed: DeploymentEvent = { type: 'DeploymentConfirmed', data: { confirmed_by: 'ann', confirmed_at: at } };
const started = (step: Step): DeploymentEvent => ({
  type: 'DeploymentStepStarted',
  data: { step, message: STEP_MESSAGES[step], started_at: at },
});
const completed = (step: Step, status: 'done' | 'skipped' = 'done'): DeploymentEvent => ({
  type: 'DeploymentStepCompleted',
  data: { step, status, detail: `${step} ${status}`, finished_at: at },
});
const failed = (step: Step | null): DeploymentEvent => ({
  type: 'DeploymentFailed',
  data: { step, reason: 'pods crashed', failed_at: at },
});
const allButTests = STEPS.filter((step) => step !== 'tests').flatMap((step) => [started(step), completed(step)]);

const HISTORIES: Record<string, DeploymentEvent[]> = {
  none: [],
  awaiting_confirmation: [requested, confirmation],
  confirmed: [requested, confirmation, confirmed],
  deploying: [requested, confirmation, confirmed, started('namespace')],
  testing: [requested, confirmation, confirmed, ...allButTests, started('tests')],
  succeeded: [
    requested,
    confirmation,
    confirmed,
    ...allButTests,
    started('tests'),
    completed('tests', 'skipped'),
    { type: 'DeploymentSucceeded', data: { url: plan.url, all_passing: false, succeeded_at: at } },
  ],
  failed: [requested, confirmation, confirmed, started('namespace'), failed('namespace')],
  rejected: [
    requested,
    confirmation,
    { type: 'DeploymentRejected', data: { rejected_by: 'ann', reason: 'not now', rejected_at: at } },
  ],
  expired: [requested, confirmation, { type: 'DeploymentExpired', data: { expired_at: at } }],
};

test('the histories reach the statuses they are named after', (t) => {
  for (const [status, events] of Object.entries(HISTORIES))
    t.is(foldEvents(deploymentDecider, events).status as string, status);
});

const commands: Record<string, DeploymentCommand> = {
  RequestDeployment: {
    type: 'RequestDeployment',
    deploymentId: 'd-1',
    sessionId: 's-1',
    branch: 'builder/platform-billing',
    repo: 'api',
    commit: 'abc',
    plan,
    confirmationTimeout: 900,
    now,
  },
  ConfirmDeployment: { type: 'ConfirmDeployment', confirmedBy: 'ann', now },
  RejectDeployment: { type: 'RejectDeployment', rejectedBy: 'ann', reason: 'not now', now },
  ExpireDeployment: { type: 'ExpireDeployment', now: later },
  StartStep: { type: 'StartStep', step: 'namespace', now },
  ReportProgress: { type: 'ReportProgress', step: 'namespace', message: 'pod app-1 is Pending', now },
  CompleteStep: { type: 'CompleteStep', step: 'namespace', status: 'done', detail: 'namespace done', now },
  FailDeployment: { type: 'FailDeployment', step: 'namespace', reason: 'pods crashed', now },
};

type Outcome = DeploymentEvent[] | 'empty' | 'conflict' | 'not_found';
const only = (
  status: string,
  events: DeploymentEvent[] | 'empty',
  otherwise: 'conflict' | 'empty' = 'conflict',
): Record<string, Outcome> =>
  Object.fromEntries(
    Object.keys(HISTORIES).map((name) => [name, name === 'none' ? 'not_found' : name === status ? events : otherwise]),
  );

const EXPECTED: Record<string, Record<string, Outcome>> = {
  RequestDeployment: {
    ...Object.fromEntries(Object.keys(HISTORIES).map((name) => [name, 'conflict' as const])),
    none: [requested, confirmation],
  },
  ConfirmDeployment: only('awaiting_confirmation', [confirmed]),
  RejectDeployment: only('awaiting_confirmation', [
    { type: 'DeploymentRejected', data: { rejected_by: 'ann', reason: 'not now', rejected_at: at } },
  ]),
  // The timer's command changes nothing where there is nothing to expire.
  ExpireDeployment: only(
    'awaiting_confirmation',
    [{ type: 'DeploymentExpired', data: { expired_at: later.toISOString() } }],
    'empty',
  ),
  // Issued once a deployment is confirmed; a repeat after a crash changes nothing.
  StartStep: { ...only('confirmed', [started('namespace')]), deploying: 'empty' },
  // News only from the step under way.
  ReportProgress: only('deploying', [
    { type: 'DeploymentProgressed', data: { step: 'namespace', message: 'pod app-1 is Pending', at } },
  ]),
  // A completed step starts the next in the same append.
  CompleteStep: {
    ...only('deploying', [completed('namespace'), started('rbac')]),
    testing: 'empty',
    succeeded: 'empty',
  },
  FailDeployment: {
    ...only('confirmed', [failed('namespace')]),
    deploying: [failed('namespace')],
    testing: [failed('namespace')],
  },
};

for (const [name, command] of Object.entries(commands)) {
  for (const [status, history] of Object.entries(HISTORIES)) {
    const expected = EXPECTED[name]![status]!;
    test(`${name} when ${status}: ${Array.isArray(expected) ? expected.map((event) => event.type).join(', ') : expected}`, (t) => {
      const result = deploymentDecider.decide(command, foldEvents(deploymentDecider, history));
      if (expected === 'conflict') {
        t.true(
          E.isLeft(result) && result.left.kind === 'conflict' && result.left.state === status,
          JSON.stringify(result),
        );
      } else if (expected === 'not_found') {
        t.deepEqual(result, E.left({ kind: 'not_found', detail: 'no such deployment' }));
      } else {
        t.deepEqual(result, E.right(expected === 'empty' ? [] : expected));
      }
    });
  }
}

test('each step’s end starts the next of the plan in the same append; the last one’s end succeeds the deployment with the plan’s URL', (t) => {
  spec
    .given([...HISTORIES['deploying']!, completed('namespace'), started('rbac')])
    .when({ type: 'CompleteStep', step: 'rbac', status: 'done', detail: 'rbac done', now })
    .then(t, [completed('rbac'), started('configmaps')]);
  spec
    .given([...HISTORIES['deploying']!])
    .when({ type: 'CompleteStep', step: 'rbac', status: 'done', detail: 'x', now })
    .thenFails(t, {
      kind: 'conflict',
      state: 'deploying',
      detail: 'step rbac is not running (the deployment is deploying)',
    });
  const lastPlanned = { ...plan, steps: ['namespace'] as Step[] };
  const oneStep = [
    { ...requested, data: { ...requested.data, plan: lastPlanned } } as DeploymentEvent,
    confirmation,
    confirmed,
    started('namespace'),
  ];
  spec
    .given(oneStep)
    .when({ type: 'CompleteStep', step: 'namespace', status: 'skipped', detail: 'namespace skipped', now })
    .then(t, [
      completed('namespace', 'skipped'),
      { type: 'DeploymentSucceeded', data: { url: plan.url, all_passing: false, succeeded_at: at } },
    ]);
  spec.given(HISTORIES['confirmed']!).when({ type: 'StartStep', step: 'rbac', now }).thenFails(t, {
    kind: 'conflict',
    state: 'confirmed',
    detail: 'the next step is namespace, not rbac (the deployment is confirmed)',
  });
  spec.given(HISTORIES['deploying']!).when({ type: 'StartStep', step: 'rbac', now }).thenFails(t, {
    kind: 'conflict',
    state: 'deploying',
    detail: 'step namespace is still running (the deployment is deploying)',
  });
});

test('two confirms: the second is refused, so exactly one execution starts', (t) => {
  spec
    .given([...HISTORIES['awaiting_confirmation']!, confirmed])
    .when(commands['ConfirmDeployment']!)
    .thenFails(t, {
      kind: 'conflict',
      state: 'confirmed',
      detail: 'only a deployment awaiting confirmation can be confirmed (the deployment is confirmed)',
    });
});

test('the expiry timer firing early changes nothing; the deadline is the request time plus the confirmation timeout', (t) => {
  spec
    .given(HISTORIES['awaiting_confirmation']!)
    .when({ type: 'ExpireDeployment', now: new Date('2030-01-01T10:14:59.999Z') })
    .then(t, []);
  spec
    .given(HISTORIES['awaiting_confirmation']!)
    .when({ type: 'ExpireDeployment', now: later })
    .then(t, [{ type: 'DeploymentExpired', data: { expired_at: later.toISOString() } }]);
});

const atPods: DeploymentEvent[] = [
  requested,
  confirmation,
  confirmed,
  ...STEPS.slice(0, 6).flatMap((step) => [started(step), completed(step)]),
  started('pods_ready'),
];
const podsReady: DeploymentEvent = { type: 'PodsReady', data: { namespace: plan.namespace, pods: 2, ready_at: at } };

test('RecordPodsReady: at the pods_ready step, PodsReady completes it (once); anywhere else a conflict', (t) => {
  const command: DeploymentCommand = { type: 'RecordPodsReady', namespace: plan.namespace, pods: 2, now };
  spec
    .given(atPods)
    .when(command)
    .then(t, [podsReady, started('tests')]);
  spec
    .given([...atPods, podsReady])
    .when(command)
    .then(t, []);
  t.like(foldEvents(deploymentDecider, [...atPods, podsReady]), {
    status: 'deploying',
    running: null,
    completed: [...STEPS.slice(0, 6), 'pods_ready'],
  });
  t.like(foldEvents(deploymentDecider, [...atPods, podsReady, started('tests')]), {
    status: 'testing',
    running: 'tests',
  });
  spec.given(HISTORIES['testing']!).when(command).then(t, []); // long done: the watch's late word is no news
  for (const name of ['confirmed', 'deploying', 'failed']) {
    const result = deploymentDecider.decide(command, foldEvents(deploymentDecider, HISTORIES[name]!));
    t.true(E.isLeft(result) && result.left.kind === 'conflict', name);
  }
});

test('TimeOutPods: a no-op before the deadline or once answered; past it, the step fails with the pods’ last state', (t) => {
  const waiting: DeploymentEvent = {
    type: 'DeploymentProgressed',
    data: { step: 'pods_ready', message: 'pod app-1 is Pending (ContainerCreating)', at },
  };
  const early: DeploymentCommand = { type: 'TimeOutPods', timeoutSeconds: 300, now: new Date(now.getTime() + 299_000) };
  const due: DeploymentCommand = { type: 'TimeOutPods', timeoutSeconds: 300, now: new Date(now.getTime() + 300_000) };
  spec
    .given([...atPods, waiting])
    .when(early)
    .then(t, []);
  spec
    .given([...atPods, waiting])
    .when(due)
    .then(t, [
      {
        type: 'DeploymentFailed',
        data: {
          step: 'pods_ready',
          reason: 'the pods were not ready after 300 s: pod app-1 is Pending (ContainerCreating)',
          failed_at: due.now.toISOString(),
        },
      },
    ]);
  spec
    .given(atPods)
    .when(due)
    .then(t, [
      {
        type: 'DeploymentFailed',
        data: {
          step: 'pods_ready',
          reason: 'the pods were not ready after 300 s: no pod was created',
          failed_at: due.now.toISOString(),
        },
      },
    ]);
  spec
    .given([...atPods, podsReady])
    .when(due)
    .then(t, []);
  spec.given(HISTORIES['deploying']!).when(due).then(t, []);
});

test('RecordTestsFinished: the deployment’s own run records the results and ends the tests step; a rerun records only the results; others are refused', (t) => {
  const tests = {
    unit: { passed: true, total: 1, failed: 0, skipped: 0, duration_ms: 5, failures: [], log_tail: '' },
  } as unknown as import('../../src/testing/results.js').TestsResult;
  const own: DeploymentCommand = {
    type: 'RecordTestsFinished',
    runId: 'deploy',
    tests,
    artifacts: { unit: '/a/unit.log' },
    detail: 'unit 1/1',
    now,
  };
  spec
    .given(HISTORIES['testing']!)
    .when(own)
    .then(t, [
      { type: 'TestsFinished', data: { run_id: 'deploy', tests, artifacts: { unit: '/a/unit.log' }, finished_at: at } },
      { type: 'DeploymentStepCompleted', data: { step: 'tests', status: 'done', detail: 'unit 1/1', finished_at: at } },
      { type: 'DeploymentSucceeded', data: { url: plan.url, all_passing: false, succeeded_at: at } },
    ]);
  const passing = { ...tests, all_passing: true } as typeof tests;
  spec
    .given(HISTORIES['testing']!)
    .when({ ...own, tests: passing })
    .then(t, [
      {
        type: 'TestsFinished',
        data: { run_id: 'deploy', tests: passing, artifacts: { unit: '/a/unit.log' }, finished_at: at },
      },
      { type: 'DeploymentStepCompleted', data: { step: 'tests', status: 'done', detail: 'unit 1/1', finished_at: at } },
      { type: 'DeploymentSucceeded', data: { url: plan.url, all_passing: true, succeeded_at: at } },
    ]);
  spec.given(HISTORIES['succeeded']!).when(own).then(t, []);
  const rerunAsked: DeploymentEvent = {
    type: 'TestsRerunRequested',
    data: { run_id: 'r-1', requested_by: 'ann', requested_at: at },
  };
  const rerun: DeploymentCommand = { ...own, runId: 'r-1' };
  spec
    .given([...HISTORIES['succeeded']!, rerunAsked])
    .when(rerun)
    .then(t, [
      { type: 'TestsFinished', data: { run_id: 'r-1', tests, artifacts: { unit: '/a/unit.log' }, finished_at: at } },
    ]);
  const stray = deploymentDecider.decide(
    { ...own, runId: 'r-2' },
    foldEvents(deploymentDecider, [...HISTORIES['succeeded']!, rerunAsked]),
  );
  t.true(E.isLeft(stray) && stray.left.kind === 'conflict');
  const early = deploymentDecider.decide(own, foldEvents(deploymentDecider, HISTORIES['deploying']!));
  t.true(E.isLeft(early) && early.left.kind === 'conflict');
});
