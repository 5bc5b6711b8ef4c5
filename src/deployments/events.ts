import * as t from 'io-ts';
import { defineEvent, jsonCodec, type EventOf } from '../events/domain-event.js';
import { TestsResult } from '../testing/results.js';
import { streamNaming } from '../events/stream-name.js';

/** The contract's steps, in order. */
export const STEPS = [
  'namespace',
  'rbac',
  'configmaps',
  'pvcs',
  'manifests',
  'ingress',
  'pods_ready',
  'tests',
] as const;
export type Step = (typeof STEPS)[number];
const StepCodec = t.keyof({
  namespace: null,
  rbac: null,
  configmaps: null,
  pvcs: null,
  manifests: null,
  ingress: null,
  pods_ready: null,
  tests: null,
});

const Bundle = t.type({ name: t.string, files: t.number, bytes: t.number });

/** The contract's plan: where the branch goes, how its files travel, what runs it. */
export const DeploymentPlan = t.type({
  namespace: t.string,
  strategy: t.literal('configmap_pvc'),
  runtime: t.type({
    kind: t.keyof({ uv: null, 'camel-jbang': null, node: null }),
    image: t.string,
    command: t.array(t.string),
  }),
  configmaps: t.array(Bundle),
  pvcs: t.array(Bundle),
  url: t.string,
  steps: t.array(StepCodec),
});
export type DeploymentPlan = t.TypeOf<typeof DeploymentPlan>;

const DeploymentRequested = defineEvent(
  'DeploymentRequested',
  jsonCodec(
    t.type({
      deployment_id: t.string,
      session_id: t.string,
      branch: t.string,
      repo: t.string,
      commit: t.string,
      plan: DeploymentPlan,
      requested_at: t.string,
    }),
  ),
);
/** The durable deadline: a timer fires DeploymentExpired after it, after a restart too. */
const ConfirmationRequested = defineEvent('ConfirmationRequested', jsonCodec(t.type({ expires_at: t.string })));
const DeploymentConfirmed = defineEvent(
  'DeploymentConfirmed',
  jsonCodec(t.type({ confirmed_by: t.string, confirmed_at: t.string })),
);
const DeploymentRejected = defineEvent(
  'DeploymentRejected',
  jsonCodec(t.type({ rejected_by: t.string, reason: t.union([t.string, t.null]), rejected_at: t.string })),
);
const DeploymentExpired = defineEvent('DeploymentExpired', jsonCodec(t.type({ expired_at: t.string })));
const DeploymentStepStarted = defineEvent(
  'DeploymentStepStarted',
  jsonCodec(t.type({ step: StepCodec, message: t.string, started_at: t.string })),
);
/** News from a step under way (a pod's state while waiting for it to be ready). */
const DeploymentProgressed = defineEvent(
  'DeploymentProgressed',
  jsonCodec(t.type({ step: StepCodec, message: t.string, at: t.string })),
);
const DeploymentStepCompleted = defineEvent(
  'DeploymentStepCompleted',
  jsonCodec(
    t.type({
      step: StepCodec,
      status: t.keyof({ done: null, skipped: null }),
      detail: t.string,
      finished_at: t.string,
    }),
  ),
);
/** The lab's pods are ready: the `pods_ready` step is done. Seen by a watch that holds no worker. */
const PodsReady = defineEvent(
  'PodsReady',
  jsonCodec(t.type({ namespace: t.string, pods: t.number, ready_at: t.string })),
);
/** The three suites' results of one run (`deploy` for the deployment's own, an id per rerun); the logs' paths as artifacts. */
const TestsFinished = defineEvent(
  'TestsFinished',
  jsonCodec(
    t.type({ run_id: t.string, tests: TestsResult, artifacts: t.record(t.string, t.string), finished_at: t.string }),
  ),
);
/** A person asked for the tests to run again against the lab as it is. */
const TestsRerunRequested = defineEvent(
  'TestsRerunRequested',
  jsonCodec(t.type({ run_id: t.string, requested_by: t.string, requested_at: t.string })),
);
/** The lab is up; `all_passing` says whether every suite ran and passed. */
const DeploymentSucceeded = defineEvent(
  'DeploymentSucceeded',
  jsonCodec(t.type({ url: t.string, all_passing: t.boolean, succeeded_at: t.string })),
);
/** Which step failed and why; the namespace is left for inspection. */
const DeploymentFailed = defineEvent(
  'DeploymentFailed',
  jsonCodec(t.type({ step: t.union([StepCodec, t.null]), reason: t.string, failed_at: t.string })),
);

export type DeploymentEvent =
  | EventOf<typeof DeploymentRequested>
  | EventOf<typeof ConfirmationRequested>
  | EventOf<typeof DeploymentConfirmed>
  | EventOf<typeof DeploymentRejected>
  | EventOf<typeof DeploymentExpired>
  | EventOf<typeof DeploymentStepStarted>
  | EventOf<typeof DeploymentProgressed>
  | EventOf<typeof DeploymentStepCompleted>
  | EventOf<typeof PodsReady>
  | EventOf<typeof TestsFinished>
  | EventOf<typeof TestsRerunRequested>
  | EventOf<typeof DeploymentSucceeded>
  | EventOf<typeof DeploymentFailed>;

export const deploymentEventDefinitions = [
  DeploymentRequested,
  ConfirmationRequested,
  DeploymentConfirmed,
  DeploymentRejected,
  DeploymentExpired,
  DeploymentStepStarted,
  DeploymentProgressed,
  DeploymentStepCompleted,
  PodsReady,
  TestsFinished,
  TestsRerunRequested,
  DeploymentSucceeded,
  DeploymentFailed,
] as const;

const deploymentStreams = streamNaming('deployment');
export const deploymentStream = deploymentStreams.name;
/** The deployment whose stream this is, if it is a deployment's. */
export const deploymentIdOf = deploymentStreams.idOf;
