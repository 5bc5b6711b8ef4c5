import { join } from 'node:path';
import { documentsView, type Capability, type CapabilityModule } from '../capability/capability.js';
import { labsCapability } from '../labs/capability.js';
import { podSelectorOf } from '../labs/manifests.js';
import { namespaceViews } from '../labs/namespace-view.js';
import { ProcessManagerRunner } from '../process-managers/runner.js';
import { sessionViews } from '../sessions/session-view.js';
import { CommitFilesCache } from './commit-files-cache.js';
import { deploymentDeadlinesDue, waitingForPods } from './deployment-deadlines.js';
import { deploymentViews, type DeploymentView } from './deployment-view.js';
import { deploymentEventDefinitions } from './events.js';
import { deploymentExecutor, executorEffects } from './executor-process.js';
import { PodsWatcher } from './pods-watcher.js';
import { presentWithLabs } from './present.js';
import { deploymentRoutes } from './routes.js';
import { deploymentNews, deploymentNewsEffects } from './session-news-process.js';

/** Tries of a deployment step that fails for a passing reason before the deployment fails. */
const EXECUTION_ATTEMPTS = 5;

/**
 * Deployments: a plan confirmed by a person (decider.ts), performed step by step in the lab by the
 * executor (executor-process.ts: DeploymentConfirmed → the steps), its pods watched, shown in the view
 * (deployment-view.ts) and told to the session (session-news-process.ts).
 */
/** What deployments lend the Slack channel: a deployment as the API shows it. */
export interface Deployments extends Capability {
  readonly present: (view: DeploymentView) => DeploymentView;
}

export const deploymentsCapability: CapabilityModule<Deployments> = {
  name: 'deployments',
  events: deploymentEventDefinitions,
  views: [documentsView(deploymentViews, 'deployments')],
  create: (config, shared) => {
    const { eventLog } = shared;
    const labs = shared.use(labsCapability);
    const views = shared.viewOf(deploymentViews);
    const sessions = shared.viewOf(sessionViews);
    // What a plan read of a commit, its deployment's steps read again: once from git.
    const commitFiles = new CommitFilesCache();
    const present = presentWithLabs(shared.viewOf(namespaceViews));
    const { kubernetes, deployment } = config;
    const podsWatcher = new PodsWatcher({
      eventLog,
      cluster: labs.cluster,
      onError: (error) => shared.logger.error({ err: error }, 'pods watch failed'),
      viewsAt: (position) => views.waitForPosition(position, 10_000),
      // The session names the project the pods are labelled with.
      waiting: () =>
        waitingForPods(views.getState().values()).flatMap((view) => {
          const project = sessions.get(view.session_id)?.project;
          return project === undefined
            ? []
            : [
                {
                  deploymentId: view.deployment_id,
                  namespace: view.plan.namespace,
                  selector: podSelectorOf(project, view.deployment_id),
                },
              ];
        }),
    });
    return {
      present,
      processManagers: [
        new ProcessManagerRunner({
          ...shared.runtimeOptions,
          processManager: deploymentNews,
          effects: deploymentNewsEffects({ eventLog }),
        }),
        new ProcessManagerRunner({
          ...shared.runtimeOptions,
          processManager: deploymentExecutor,
          effects: executorEffects({
            eventLog,
            commitFiles,
            cluster: labs.cluster,
            bundles: labs.bundles,
            settings: {
              ingressClass: kubernetes.ingress_class,
              clusterIssuer: kubernetes.cluster_issuer,
              storageClass: kubernetes.storage_class || null,
              fetchImage: kubernetes.fetch_image,
            },
            ingressDomain: kubernetes.ingress_domain,
            maxConfigMapSize: deployment.max_configmap_size,
            bundleBaseUrl: kubernetes.bundle_base_url,
            bundleSecret: labs.bundleSecret,
            bundleUrlTtl: kubernetes.bundle_url_ttl,
            testTimeoutMs: deployment.test_timeout * 1000,
            testUrl: deployment.test_url,
            artifactsDir: join(config.data_dir, 'artifacts'),
            attempts: EXECUTION_ATTEMPTS,
          }),
          retry: { attempts: EXECUTION_ATTEMPTS, initialDelayMs: 500, factor: 2, maxDelayMs: 10_000 },
        }),
      ],
      services: [podsWatcher],
      routers: [
        deploymentRoutes({
          eventLog,
          commitFiles,
          views,
          sessions,
          ingressDomain: kubernetes.ingress_domain,
          maxConfigMapSize: deployment.max_configmap_size,
          confirmationTimeout: deployment.confirmation_timeout,
          present,
          sse: shared.sse,
          admitNewWork: shared.admitNewWork,
        }),
      ],
      due: (now) => deploymentDeadlinesDue(views.getState().values(), now, kubernetes.pods_ready_timeout),
    };
  },
};
