import type { GatewayConfig } from './schema.js';

/** The configuration as it may be logged: token hashes and secrets left out, only whether they are set. */
export const redactedConfig = (config: GatewayConfig): object => ({
  ...config,
  auth: { tokens: config.auth.tokens.map(({ name, role }) => ({ name, role })) },
  event_store:
    config.event_store.type === 'eventstoredb'
      ? { type: 'eventstoredb', connection_string: '(set)' }
      : config.event_store,
  secrets: {
    webhookSecret: config.secrets.webhookSecret ? '(set)' : '(unset)',
    slackSigningSecret: config.secrets.slackSigningSecret ? '(set)' : '(unset)',
    opencodePassword: config.secrets.opencodePassword ? '(set)' : '(unset)',
  },
  webhooks: { ...config.webhooks, slack_url: config.webhooks.slack_url ? '(set)' : '(unset)' },
  opencode: { ...config.opencode, config: '(see GATEWAY_OPENCODE_CONFIG)' },
});
