import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../commands/handle-command.js';
import type { DomainEvent } from '../events/domain-event.js';
import type { EventLog } from '../events/event-log.js';
import type { CommandContext } from '../events/metadata.js';
import type { StoredEvent } from '../events/stored-event.js';
import type { BundleStore } from '../labs/bundle-store.js';
import { PermanentKubeError, type LabCluster } from '../labs/cluster.js';
import { writeKustomization } from '../labs/kustomize.js';
import { labObjects, podSelectorOf, type ApplyStep, type LabSettings } from '../labs/manifests.js';
import { namespaceDecider } from '../labs/namespace.js';
import { namespaceStream } from '../labs/namespace-events.js';
import { signBundleUrl } from '../labs/signed-url.js';
import { commandReaction, type EffectContext, type EffectHandlers, type ProcessManager, type Reaction } from '../process-managers/process-manager.js';
import { deploymentDecider } from './decide.js';
import { loadDeploymentContext, MissingContextError, type DeploymentContext } from './deployment-context.js';
import { deploymentStream, STEPS, type DeploymentEvent, type Step } from './events.js';
import { planDeployment } from './plan.js';
import { readCommitFiles } from './repo-files.js';
import { notRun, resultOf, summaryOf, type TestsResult } from '../testing/results.js';
import { runTests, type TestRun } from '../testing/run-tests.js';

export type ExecutionEffect =
  | { readonly kind: 'run-step'; readonly deploymentId: string; readonly step: Step }
  /** A rerun of the tests against the lab as it is. */
  | { readonly kind: 'run-tests'; readonly deploymentId: string; readonly runId: string };

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

const DEPLOYMENT_STREAM = /^deployment-(.+)$/;

/**
 * The deployment's execution, pure: a confirmation starts the first step, each started step asks
 * for its work, each completed step starts the next, and the last one ends the deployment. Every
 * step is recorded as it starts and ends, so after a restart the runner resumes the step whose
 * outcome is missing, and applying it again converges.
 */
export const deploymentExecutor: ProcessManager<ExecutionEffect> = {
  name: 'deployment-executor',
  react: (stored: StoredEvent): readonly Reaction<ExecutionEffect>[] => {
    const match = DEPLOYMENT_STREAM.exec(stored.stream);
    if (!match) return [];
    const deploymentId = match[1]!;
    const event = stored.event as DeploymentEvent;
    const now = new Date(stored.metadata.recorded_at);
    const start = (step: Step) => commandReaction(`${stored.id}:start-${step}`, stored.stream, deploymentDecider, { type: 'StartStep', step, message: STEP_MESSAGES[step], now });
    switch (event.type) {
      case 'DeploymentConfirmed':
        return [start(STEPS[0])];
      case 'DeploymentStepStarted':
        return [{ type: 'effect', key: `${stored.id}:run`, stream: stored.stream, effect: { kind: 'run-step', deploymentId, step: event.data.step } }];
      case 'TestsRerunRequested':
        return [{ type: 'effect', key: `${stored.id}:rerun`, stream: stored.stream, effect: { kind: 'run-tests', deploymentId, runId: event.data.run_id } }];
      case 'DeploymentStepCompleted': {
        const next = STEPS[STEPS.indexOf(event.data.step) + 1];
        return [next ? start(next) : commandReaction(`${stored.id}:succeed`, stored.stream, deploymentDecider, { type: 'SucceedDeployment', now })];
      }
      default:
        return [];
    }
  },
};

export interface ExecutorOptions {
  readonly eventLog: EventLog;
  readonly cluster: LabCluster;
  readonly bundles: BundleStore;
  readonly settings: LabSettings;
  readonly ingressDomain: string;
  readonly maxConfigMapSize: number;
  readonly bundleBaseUrl: string;
  readonly bundleSecret: string;
  /** Seconds a signed bundle URL stays valid after the confirmation. */
  readonly bundleUrlTtl: number;
  readonly podsReadyTimeoutMs: number;
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
export const testTargetOf = (template: string, lab: { readonly namespace: string; readonly project: string; readonly url: string }): string =>
  template === '' ? lab.url : template.replaceAll('{namespace}', lab.namespace).replaceAll('{project}', lab.project);

/** A failure of the deployment, not of the gateway: recorded, never retried. */
class StepFailure extends Error {}

/** Where a person finds the kustomize overlay of the session's lab: beside the worktrees. */
export const overlayDir = (workspacePath: string): string => join(workspacePath, '.lab');

export const executorEffects = (options: ExecutorOptions): EffectHandlers<ExecutionEffect> => {
  const clock = options.clock ?? (() => new Date());
  const contextOf = (cause: StoredEvent): CommandContext => ({ actor: 'pm:deployment-executor', correlationId: cause.metadata.correlation_id, causationId: cause.id, now: clock() });

  /** The deployed commit's files and their plan, rebuilt from git (the recorded plan only names and weighs them). */
  const plannedOf = async (context: DeploymentContext) => {
    if (!existsSync(context.worktreePath)) throw new StepFailure(`the worktree ${context.worktreePath} of repo ${context.requested.repo} is gone; open a new session to deploy it`);
    const { files } = await readCommitFiles(context.worktreePath, context.requested.commit);
    const planned = planDeployment({ project: context.project, files, ingressDomain: options.ingressDomain, maxConfigMapSize: options.maxConfigMapSize });
    if (E.isLeft(planned)) throw new StepFailure(planned.left);
    return { files, planned: planned.right };
  };

  /** The objects of every apply step. */
  const objectsOf = async (context: DeploymentContext, deploymentId: string) => {
    const { files, planned } = await plannedOf(context);
    const { pvc } = planned;
    let bundle: { url: string; sha256: string } | null = null;
    if (pvc.files.length > 0) {
      const large = new Set(pvc.files.map((file) => file.path));
      const { sha256 } = await options.bundles.put(files.filter((file) => large.has(file.path)));
      // Fixed by the confirmation, so re-applying the step gives the same URL and the pod does not roll.
      const expiresAt = new Date(context.confirmedAt.getTime() + options.bundleUrlTtl * 1000);
      bundle = { url: signBundleUrl(options.bundleBaseUrl, sha256, expiresAt, options.bundleSecret), sha256 };
    }
    const pvcHeldGi = pvc.files.length > 0 ? await options.cluster.pvcSizeGi(context.requested.plan.namespace, pvc.name) : undefined;
    return labObjects(
      {
        ...(pvcHeldGi === undefined ? {} : { pvcHeldGi }),
        project: context.project,
        namespace: context.requested.plan.namespace,
        host: new URL(context.requested.plan.url).host,
        deploymentId,
        sessionId: context.requested.session_id,
        runtime: planned.runtime,
        files,
        configmaps: planned.configmaps,
        pvc,
        bundle,
      },
      options.settings,
    );
  };

  /** Applies the step's objects; what it applied, or undefined when the step has none. */
  const apply = async (step: ApplyStep, context: DeploymentContext, deploymentId: string, cause: StoredEvent): Promise<string | undefined> => {
    const objects = await objectsOf(context, deploymentId);
    await writeKustomization(overlayDir(context.workspacePath), objects);
    const applied = objects[step];
    if (applied.length === 0) return undefined;
    await options.cluster.apply(applied);
    if (step === 'namespace') {
      const recorded = await handleCommand(
        options.eventLog,
        namespaceStream(context.requested.plan.namespace),
        namespaceDecider,
        { type: 'RecordNamespaceCreated', name: context.requested.plan.namespace, project: context.project, url: context.requested.plan.url, deploymentId, now: clock() },
        contextOf(cause),
      );
      if (E.isLeft(recorded)) throw new StepFailure('detail' in recorded.left ? recorded.left.detail : `namespace ${context.requested.plan.namespace}: ${recorded.left.kind}`);
    }
    return applied.map((object) => `${object.kind} ${object.metadata.name}`).join(', ');
  };

  const waitForPods = async (context: DeploymentContext, deploymentId: string, effect: EffectContext): Promise<string> => {
    const outcome = await options.cluster.waitForPods(context.requested.plan.namespace, podSelectorOf(context.project, deploymentId), {
      timeoutMs: options.podsReadyTimeoutMs,
      signal: effect.signal,
      onChange: (detail) => {
        void handleCommand(options.eventLog, deploymentStream(deploymentId), deploymentDecider, { type: 'ReportProgress', step: 'pods_ready', message: detail, now: clock() }, contextOf(effect.cause)).catch(() => undefined);
      },
    });
    if (effect.signal.aborted) throw new Error('stopped while waiting for the pods');
    if (!outcome.ready) throw new StepFailure(outcome.reason);
    return `${outcome.pods} pod${outcome.pods === 1 ? '' : 's'} ready`;
  };

  /** The three suites against the lab. */
  const testRunOf = async (deploymentId: string, runId: string): Promise<TestRun> => {
    const context = await loadDeploymentContext(options.eventLog, deploymentId);
    const { files, planned } = await plannedOf(context);
    const { namespace, url } = context.requested.plan;
    const labUrl = testTargetOf(options.testUrl, { namespace, project: context.project, url });
    return runTests({
      worktree: context.worktreePath,
      labUrl,
      runtime: planned.runtime.kind,
      manifest: planned.manifest,
      files: new Map(files.filter((file) => !file.binary).map((file) => [file.path, file.content.toString('utf8')])),
      artifactsDir: join(options.artifactsDir, deploymentId, runId),
      timeoutMs: options.testTimeoutMs,
    });
  };

  const testsFinished = (runId: string, tests: TestsResult, artifacts: Readonly<Record<string, string>> = {}): DomainEvent => ({
    type: 'TestsFinished',
    data: { run_id: runId, tests, artifacts: { ...artifacts }, finished_at: clock().toISOString() },
  });

  const completed = (step: Step, status: 'done' | 'skipped', detail: string): DomainEvent => ({ type: 'DeploymentStepCompleted', data: { step, status, detail, finished_at: clock().toISOString() } });
  const failed = (step: Step, reason: string): DomainEvent => ({ type: 'DeploymentFailed', data: { step, reason, failed_at: clock().toISOString() } });

  return {
    'run-step': async (request, effect) => {
      const { step, deploymentId } = request;
      try {
        if (step === 'tests') {
          const run = await testRunOf(deploymentId, DEPLOY_RUN);
          return [testsFinished(DEPLOY_RUN, run.tests, run.artifacts), completed(step, 'done', summaryOf(run.tests))];
        }
        const context = await loadDeploymentContext(options.eventLog, deploymentId);
        if (step === 'pods_ready') return [completed(step, 'done', await waitForPods(context, deploymentId, effect))];
        const applied = await apply(step, context, deploymentId, effect.cause);
        return applied === undefined ? [completed(step, 'skipped', step === 'pvcs' ? 'every file fits in the ConfigMaps' : 'nothing to apply')] : [completed(step, 'done', applied)];
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (error instanceof StepFailure || error instanceof PermanentKubeError || error instanceof MissingContextError) return [failed(step, reason)];
        if (effect.signal.aborted || effect.attempt < options.attempts) throw error; // passing: the runner tries again
        return [failed(step, `${reason} (after ${effect.attempt} tries)`)];
      }
    },
    'run-tests': async (request, effect) => {
      try {
        const run = await testRunOf(request.deploymentId, request.runId);
        return [testsFinished(request.runId, run.tests, run.artifacts)];
      } catch (error) {
        if (effect.signal.aborted || (!(error instanceof StepFailure) && effect.attempt < options.attempts)) throw error;
        // The lab stays up; the rerun reports why it could not run.
        const message = error instanceof Error ? error.message : String(error);
        const suite = notRun(message);
        return [testsFinished(request.runId, resultOf(suite, suite, suite))];
      }
    },
  };
};

