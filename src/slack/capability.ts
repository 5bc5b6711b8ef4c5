import type { CapabilityModule } from '../capability/capability.js';
import { deploymentViews } from '../deployments/deployment-view.js';
import { deploymentsCapability } from '../deployments/capability.js';
import { sessionViews } from '../sessions/session-view.js';
import { slackRoutes } from './routes.js';

/** Slack: the buttons and menus of the Slack app, signed by Slack, acting on sessions and deployments. */
export const slackCapability: CapabilityModule = {
  name: 'slack',
  events: [],
  views: [],
  create: (config, shared) => ({
    routers: [
      slackRoutes({
        eventLog: shared.eventLog,
        signingSecret: config.secrets.slackSigningSecret,
        sessions: shared.viewOf(sessionViews),
        deployments: shared.viewOf(deploymentViews),
        present: shared.use(deploymentsCapability).present,
        runOnce: shared.runOnce,
      }),
    ],
  }),
};
