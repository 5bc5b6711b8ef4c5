import { resolve } from 'node:path';
import { documentsView, type CapabilityModule } from '../capability/capability.js';
import { ProcessManagerRunner } from '../process-managers/runner.js';
import { routingCapability } from '../routing/capability.js';
import { repoUrlVerdict } from '../shared/repo-url-policy.js';
import { builderEventDefinitions } from './builder.js';
import { builderReleaser } from './builder-release-process.js';
import { sessionEventDefinitions } from './events.js';
import { sessionRoutes } from './routes.js';
import { sessionViews } from './session-view.js';

/** Sessions: created, routed, confirmed, messaged and closed over HTTP; a builder name held while one is open. */
export const sessionsCapability: CapabilityModule = {
  name: 'sessions',
  events: [...sessionEventDefinitions, ...builderEventDefinitions],
  views: [documentsView(sessionViews, 'sessions')],
  create: (config, shared) => {
    // The policy a request's repository URL is checked against (the clone checks it again).
    const urlPolicy = {
      reposRoot: resolve(shared.cwd, config.workspace.repos_root),
      allowedPatterns: config.workspace.allowed_url_patterns,
      allowPrivateAddresses: config.workspace.allow_private_addresses,
    };
    return {
      processManagers: [
        new ProcessManagerRunner({ ...shared.runtimeOptions, processManager: builderReleaser, effects: {} }),
      ],
      routers: [
        sessionRoutes({
          eventLog: shared.eventLog,
          views: shared.viewOf(sessionViews),
          sse: shared.sse,
          suggest: shared.use(routingCapability).suggest,
          autoConfirmConfidence: config.routing.auto_confirm_confidence,
          admitNewWork: shared.admitNewWork,
          checkRepoUrl: (url) => repoUrlVerdict(url, urlPolicy),
        }),
      ],
    };
  },
};
