import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { foldEvents } from '../commands/decider.js';
import { handleCommand } from '../commands/handle-command.js';
import type { EventLog } from '../events/event-log.js';
import type { CommandContext } from '../events/metadata.js';
import type { StoredEvent } from '../events/stored-event.js';
import type { BundleStore } from '../labs/bundle-store.js';
import type { LabCluster } from '../labs/cluster.js';
import { PermanentKubeError } from '../labs/kube-calls.js';
import { ForeignWorktreeError } from '../shared/git.js';
import { PlantedLinkError } from '../files/planted-link.js';
import { writeKustomization } from '../labs/kustomize.js';
import { labObjects, type ApplyStep, type LabSettings } from '../labs/manifests.js';
import { namespaceDecider } from '../labs/decider.js';
import { namespaceStream, type NamespaceEvent } from '../labs/events.js';
import { signBundleUrl } from '../labs/signed-url.js';
import type { CodeSource } from '../labs/code-volumes.js';
import type { RepoFile } from '../labs/repo-file.js';
import { testJob } from '../labs/test-job.js';
import {
  commandReaction,
  effectThenCommand,
  type EffectContext,
  type EffectHandlers,
  type EffectOutcome,
  type ProcessManager,
  type Reaction,
} from '../process-managers/process-manager.js';
import { DEPLOY_RUN, deploymentDecider, type DeploymentCommand } from './decider.js';
import { loadDeploymentContext, MissingContextError, type DeploymentContext } from './deployment-context.js';
import { deploymentIdOf, STEPS, type DeploymentEvent, type Step } from './events.js';
import { planDeployment, type PlannedDeployment } from './plan.js';
import type { CommitFilesCache } from './commit-files-cache.js';
import { notRun, resultOf, summaryOf } from '../testing/results.js';
import { runTests, type TestRun } from '../testing/run-tests.js';

export type ExecutionEffect =
  | { readonly kind: 'run-step'; readonly deploymentId: string; readonly step: ApplyStep }
  /** The deployment's own tests (`deploy`) or a rerun against the lab as it is. */
  | { readonly kind: 'run-tests'; readonly deploymentId: string; readonly runId: string }
  /** The lab namespace's own record, once the deployment created it (another aggregate: another reaction). */
  | { readonly kind: 'record-namespace'; readonly deploymentId: string };

/**
 * The deployment's execution, pure: a confirmation starts the first step; each started step asks
 * for its work, whose outcome goes through the deployment's decider (its one write path); the
 * decider starts the next step, or ends the deployment, in the same append as the outcome. Waiting is not work: the `pods_ready`
 * step asks for nothing here; the pods watch records `PodsReady` (or the failure) when it sees
 * it, and the deadline timer fails the step at its timeout.
 */
export const deploymentExecutor: ProcessManager<ExecutionEffect> = {
  name: 'deployment-executor',
  react: (stored: StoredEvent): readonly Reaction<ExecutionEffect>[] => {
    const deploymentId = deploymentIdOf(stored.stream);
    if (deploymentId === undefined) return [];
    const event = stored.event as DeploymentEvent;
    const work = (effect: ExecutionEffect) =>
      effectThenCommand(`${stored.id}:run`, stored.stream, deploymentDecider, effect);
    switch (event.type) {
      case 'DeploymentConfirmed':
        return [
          commandReaction(`${stored.id}:start`, stored.stream, deploymentDecider, {
            type: 'StartStep',
            step: STEPS[0],
            now: new Date(stored.metadata.recorded_at),
          }),
        ];
      case 'DeploymentStepStarted': {
        const step = event.data.step;
        if (step === 'pods_ready') return [];
        return [
          work(
            step === 'tests'
              ? { kind: 'run-tests', deploymentId, runId: DEPLOY_RUN }
              : { kind: 'run-step', deploymentId, step },
          ),
        ];
      }
      case 'TestsRerunRequested':
        return [
          effectThenCommand(`${stored.id}:rerun`, stored.stream, deploymentDecider, {
            kind: 'run-tests',
            deploymentId,
            runId: event.data.run_id,
          }),
        ];
      case 'DeploymentStepCompleted':
        return event.data.step === 'namespace' && event.data.status === 'done'
          ? [
              {
                type: 'effect',
                key: `${stored.id}:namespace`,
                stream: stored.stream,
                effect: { kind: 'record-namespace', deploymentId },
                rerunnable: true,
              },
            ]
          : [];
      default:
        return [];
    }
  },
};

export interface ExecutorOptions {
  readonly eventLog: EventLog;
  readonly cluster: LabCluster;
  readonly bundles: BundleStore;
  /** Shared with the plan, which read the same commit's files a moment before. */
  readonly commitFiles: CommitFilesCache;
  readonly settings: LabSettings;
  readonly ingressDomain: string;
  readonly maxConfigMapSize: number;
  readonly bundleBaseUrl: string;
  readonly bundleSecret: string;
  /** Seconds a signed bundle URL stays valid after the confirmation. */
  readonly bundleUrlTtl: number;
  /** Per suite. */
  readonly testTimeoutMs: number;
  /** Where tests reach the lab: empty for the ingress URL, else a template with {namespace} and {project}. */
  readonly testUrl: string;
  /** Each run's logs go in `<artifactsDir>/<deployment>/<run>/`. */
  readonly artifactsDir: string;
  /** Tries of a step that fails for a passing reason (the API server away) before the deployment fails. */
  readonly attempts: number;
  readonly clock?: () => Date;
}

/** Where tests reach a lab: its ingress URL, or the configured template (`{namespace}`, `{project}`) filled in. */
export const testTargetOf = (
  template: string,
  lab: { readonly namespace: string; readonly project: string; readonly url: string },
): string =>
  template === '' ? lab.url : template.replaceAll('{namespace}', lab.namespace).replaceAll('{project}', lab.project);

/** A failure of the deployment, not of the gateway: recorded, never retried. */
class StepFailure extends Error {}

/**
 * What no retry can mend, so the deployment fails at once with the reason: its own failure, an
 * object the API server refuses, a history without the deployment's context, a worktree whose
 * `.git` is not the gateway's, a link planted where the gateway writes.
 */
const isPermanent = (error: unknown): boolean =>
  error instanceof StepFailure ||
  error instanceof PermanentKubeError ||
  error instanceof MissingContextError ||
  error instanceof ForeignWorktreeError ||
  error instanceof PlantedLinkError;

/** Where a person finds the kustomize overlay of the session's lab: beside the worktrees. */
const overlayDir = (workspacePath: string): string => join(workspacePath, '.lab');

/** What every handler of the executor shares: its options, with the clock they name or the wall clock. */
interface ExecutorDeps extends ExecutorOptions {
  readonly clock: () => Date;
}

type ExecutionEffectOf<Kind extends ExecutionEffect['kind']> = Extract<ExecutionEffect, { kind: Kind }>;

const contextOf = (deps: ExecutorDeps, cause: StoredEvent): CommandContext => ({
  actor: 'pm:deployment-executor',
  correlationId: cause.metadata.correlation_id,
  causationId: cause.id,
  now: deps.clock(),
});

/** The deployed commit's files and their plan, rebuilt from git (the recorded plan only names and weighs them). */
const plannedOf = async (deps: ExecutorDeps, context: DeploymentContext) => {
  if (!existsSync(context.worktreePath))
    throw new StepFailure(
      `the worktree ${context.worktreePath} of repo ${context.requested.repo} is gone; open a new session to deploy it`,
    );
  // The recorded commit is a hash: its files never change.
  const { files } = await deps.commitFiles.read(context.worktree.gitDir, context.requested.commit);
  const planned = planDeployment({
    project: context.project,
    files,
    ingressDomain: deps.ingressDomain,
    maxConfigMapSize: deps.maxConfigMapSize,
  });
  if (E.isLeft(planned)) throw new StepFailure(planned.left);
  return { files, planned: planned.right };
};

/**
 * The commit's code as a pod gathers it: its ConfigMaps, and its large files' bundle behind a URL
 * signed until `expiresAt`.
 */
const codeSourceOf = async (
  deps: ExecutorDeps,
  files: readonly RepoFile[],
  planned: PlannedDeployment,
  expiresAt: Date,
): Promise<CodeSource> => {
  const { pvc, configmaps } = planned;
  let bundle: { url: string; sha256: string } | null = null;
  if (pvc.files.length > 0) {
    const large = new Set(pvc.files.map((file) => file.path));
    const { sha256 } = await deps.bundles.put(files.filter((file) => large.has(file.path)));
    bundle = { url: signBundleUrl(deps.bundleBaseUrl, sha256, expiresAt, deps.bundleSecret), sha256 };
  }
  return { files, configmaps, pvc, bundle };
};

/** The objects of every apply step. */
const objectsOf = async (deps: ExecutorDeps, context: DeploymentContext, deploymentId: string) => {
  const { files, planned } = await plannedOf(deps, context);
  // Fixed by the confirmation, so re-applying the step gives the same URL and the pod does not roll.
  const expiresAt = new Date(context.confirmedAt.getTime() + deps.bundleUrlTtl * 1000);
  const code = await codeSourceOf(deps, files, planned, expiresAt);
  const { pvc } = planned;
  const pvcHeldGi =
    pvc.files.length > 0 ? await deps.cluster.pvcSizeGi(context.requested.plan.namespace, pvc.name) : undefined;
  return labObjects(
    {
      ...code,
      ...(pvcHeldGi === undefined ? {} : { pvcHeldGi }),
      project: context.project,
      namespace: context.requested.plan.namespace,
      host: new URL(context.requested.plan.url).host,
      deploymentId,
      sessionId: context.requested.session_id,
      runtime: planned.runtime,
    },
    deps.settings,
  );
};

/** A lab whose deletion is under way cannot be deployed into until it is gone. */
const refuseNamespaceBeingDeleted = async (deps: ExecutorDeps, namespace: string): Promise<void> => {
  const history = await deps.eventLog.readStream<NamespaceEvent>(namespaceStream(namespace));
  const state = foldEvents(
    namespaceDecider,
    history.map((stored) => stored.event),
  );
  if (state.status === 'deleting')
    throw new StepFailure(`namespace ${namespace} is being deleted; deploy again once it is gone`);
};

/** Applies the step's objects; what it applied, or undefined when the step has none. */
const apply = async (
  deps: ExecutorDeps,
  step: ApplyStep,
  context: DeploymentContext,
  deploymentId: string,
): Promise<string | undefined> => {
  if (step === 'namespace') await refuseNamespaceBeingDeleted(deps, context.requested.plan.namespace);
  const objects = await objectsOf(deps, context, deploymentId);
  // The overlay is for a person (the same objects every step): written once per deployment, durably.
  if (step === 'namespace') await writeKustomization(overlayDir(context.workspacePath), objects);
  const applied = objects[step];
  if (applied.length === 0) return undefined;
  await deps.cluster.apply(applied);
  return applied.map((object) => `${object.kind} ${object.metadata.name}`).join(', ');
};

/**
 * The three suites against the lab: the repository's own in Jobs of its namespace, the acceptance
 * checks from here. The run's start fixes its Jobs (their names, the bundle URL's expiry), so a
 * retried run applies the same Jobs and waits for them.
 */
const testRunOf = async (
  deps: ExecutorDeps,
  request: ExecutionEffectOf<'run-tests'>,
  effect: EffectContext,
): Promise<TestRun> => {
  const { deploymentId, runId } = request;
  const context = await loadDeploymentContext(deps.eventLog, deploymentId);
  const { files, planned } = await plannedOf(deps, context);
  const { namespace, url } = context.requested.plan;
  const startedAt = new Date(effect.cause.metadata.recorded_at);
  const code = await codeSourceOf(deps, files, planned, new Date(startedAt.getTime() + deps.bundleUrlTtl * 1000));
  return runTests({
    cluster: deps.cluster,
    jobFor: (suite, argv) =>
      testJob({
        ...code,
        namespace,
        project: context.project,
        deploymentId,
        runId,
        suite,
        runtime: planned.runtime,
        argv,
        ingressUrl: url,
        timeoutSeconds: Math.ceil(deps.testTimeoutMs / 1000),
        fetchImage: deps.settings.fetchImage,
      }),
    acceptanceUrl: testTargetOf(deps.testUrl, { namespace, project: context.project, url }),
    runtime: planned.runtime.kind,
    manifest: planned.manifest,
    files: new Map(files.filter((file) => !file.binary).map((file) => [file.path, file.content.toString('utf8')])),
    artifactsDir: join(deps.artifactsDir, deploymentId, runId),
    timeoutMs: deps.testTimeoutMs,
    signal: effect.signal,
  });
};

const failedWith = (deps: ExecutorDeps, step: Step, reason: string): { command: DeploymentCommand } => ({
  command: { type: 'FailDeployment', step, reason, now: deps.clock() },
});

/** An apply step: its objects applied, or the deployment failed when the reason is not a passing one. */
const runStep = async (
  deps: ExecutorDeps,
  request: ExecutionEffectOf<'run-step'>,
  effect: EffectContext,
): Promise<{ command: DeploymentCommand }> => {
  const { step, deploymentId } = request;
  try {
    const context = await loadDeploymentContext(deps.eventLog, deploymentId);
    const applied = await apply(deps, step, context, deploymentId);
    const detail = applied ?? (step === 'pvcs' ? 'every file fits in the ConfigMaps' : 'nothing to apply');
    return {
      command: {
        type: 'CompleteStep',
        step,
        status: applied === undefined ? 'skipped' : 'done',
        detail,
        now: deps.clock(),
      },
    };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (isPermanent(error)) return failedWith(deps, step, reason);
    if (effect.signal.aborted || effect.attempt < deps.attempts) throw error; // passing: the runner tries again
    return failedWith(deps, step, `${reason} (after ${effect.attempt} tries)`);
  }
};

/** A run of the tests, the deployment's own or a rerun: its results, or why it could not run. */
const runTestsOnLab = async (
  deps: ExecutorDeps,
  request: ExecutionEffectOf<'run-tests'>,
  effect: EffectContext,
): Promise<{ command: DeploymentCommand }> => {
  const { runId } = request;
  try {
    const run = await testRunOf(deps, request, effect);
    return {
      command: {
        type: 'RecordTestsFinished',
        runId,
        tests: run.tests,
        artifacts: run.artifacts,
        detail: summaryOf(run.tests),
        now: deps.clock(),
      },
    };
  } catch (error) {
    if (effect.signal.aborted || (!isPermanent(error) && effect.attempt < deps.attempts)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    // The deployment's own run fails its step; a rerun reports why it could not run (the lab stays up).
    if (runId === DEPLOY_RUN) return failedWith(deps, 'tests', reason);
    const suite = notRun(reason);
    const tests = resultOf(suite, suite, suite);
    return {
      command: {
        type: 'RecordTestsFinished',
        runId,
        tests,
        artifacts: {},
        detail: summaryOf(tests),
        now: deps.clock(),
      },
    };
  }
};

/** The lab namespace's own record of its creation by the deployment. */
const recordNamespace = async (
  deps: ExecutorDeps,
  request: ExecutionEffectOf<'record-namespace'>,
  effect: EffectContext,
): Promise<EffectOutcome> => {
  const context = await loadDeploymentContext(deps.eventLog, request.deploymentId);
  const { namespace, url } = context.requested.plan;
  const recorded = await handleCommand(
    deps.eventLog,
    namespaceStream(namespace),
    namespaceDecider,
    {
      type: 'RecordNamespaceCreated',
      name: namespace,
      project: context.project,
      url,
      deploymentId: request.deploymentId,
      now: deps.clock(),
    },
    contextOf(deps, effect.cause),
  );
  // Being deleted since the step checked: the deletion wins, and the namespace's record says so.
  if (E.isLeft(recorded) && recorded.left.kind !== 'conflict')
    throw new Error(`recording namespace ${namespace}: ${JSON.stringify(recorded.left)}`);
  return [];
};

/** The executor's effect handlers, one per kind of work. */
export const executorEffects = (options: ExecutorOptions): EffectHandlers<ExecutionEffect> => {
  const deps: ExecutorDeps = { ...options, clock: options.clock ?? (() => new Date()) };
  return {
    'run-step': (request, effect) => runStep(deps, request, effect),
    'run-tests': (request, effect) => runTestsOnLab(deps, request, effect),
    'record-namespace': (request, effect) => recordNamespace(deps, request, effect),
  };
};
