/**
 * The webhooks' payloads, one schema per `event_type` (contract 1.1), exactly as the notifier
 * builds them in src/notifications/webhook-for.ts: `additionalProperties: false`, so a field the
 * notifier adds without documenting it fails the tests that check every delivery.
 */
import { nullable, ref, route, stepName, strictObject, time } from './schemas.js';

const todo = strictObject(['content', 'status', 'priority'], {
  content: { type: 'string' },
  status: { type: 'string' },
  priority: { type: 'string' },
});

/** `data` of each webhook type, with what a Slack message would show. */
const webhookData: Record<string, object> = {
  routing_suggestion: strictObject(
    ['suggested', 'confidence', 'reason', 'signals'],
    {
      suggested: route,
      confidence: { type: 'number', minimum: 0, maximum: 1 },
      reason: { type: 'string' },
      signals: ref('RoutingAnalysis/properties/signals'),
    },
    'A route below the auto-confirm confidence waits for a person: offer the four routes, the suggested one first.',
  ),
  progress: strictObject(
    ['summary'],
    {
      summary: { type: 'string' },
      workspace_path: { type: 'string', description: 'When the workspace became ready' },
      todos: { ...nullable({ type: 'array', items: todo }), description: 'The agent’s todo list, when it has one' },
      files: { type: 'array', items: { type: 'string' }, description: 'Files the agent changed in the turn' },
    },
    'The workspace is ready, the agent reports progress, or a push of a builder branch failed (`workspace.push`: the summary names the branch, the repo, the remote without credentials and why).',
  ),
  question: strictObject(['question_id', 'text', 'options'], {
    question_id: { type: 'string' },
    text: { type: 'string' },
    options: { type: 'array', items: { type: 'string' } },
  }),
  agent_reply: strictObject(['message_id', 'text'], { message_id: { type: 'string' }, text: { type: 'string' } }),
  deployment_confirmation_requested: strictObject(['plan', 'expires_at'], {
    plan: ref('Plan'),
    expires_at: { ...nullable(time), description: 'When the plan expires unanswered' },
  }),
  deployment_ready: strictObject(['url', 'repos'], {
    url: { type: 'string', description: 'The lab’s address' },
    repos: {
      type: 'array',
      description:
        'Where the work is: each repo whose builder branch the remote took (`workspace.push`), as last pushed (a deployment pushes its snapshot first). Empty when `workspace.push` is off or nothing was pushed.',
      items: strictObject(['name', 'remote', 'branch', 'compare_url'], {
        name: { type: 'string' },
        remote: { type: 'string', description: 'The URL the repo was cloned from, without credentials' },
        branch: { type: 'string' },
        compare_url: nullable({
          type: 'string',
          description: 'From `workspace.compare_url`; null when not configured',
        }),
      }),
    },
  }),
  test_results: {
    allOf: [ref('Tests'), { type: 'object', required: ['run_id'], properties: { run_id: { type: 'string' } } }],
    unevaluatedProperties: false,
  },
  deployment_failed: strictObject(['step', 'reason'], {
    step: { ...nullable(stepName), description: 'The step that failed; null when the plan expired unanswered' },
    reason: nullable({ type: 'string' }),
    status: { const: 'expired', description: 'Present when nobody confirmed the plan in time' },
  }),
  session_closed: strictObject(['status', 'reason', 'remove_workspace'], {
    status: { const: 'closed' },
    reason: nullable({ type: 'string' }),
    remove_workspace: { type: 'boolean' },
  }),
  session_failed: strictObject(['error'], {
    error: { type: 'string', description: 'Why, naming the repo and the cause' },
  }),
  agent_error: strictObject(['message_id', 'error', 'message'], {
    message_id: { type: 'string' },
    error: { type: 'string', description: 'The error’s kind, e.g. ProviderAuthError' },
    message: { type: 'string', description: 'What went wrong, in words' },
  }),
};

/** Webhooks about a deployment name it beside the session. */
const ABOUT_A_DEPLOYMENT = new Set([
  'deployment_confirmation_requested',
  'deployment_ready',
  'test_results',
  'deployment_failed',
]);

const WEBHOOK_TYPES = Object.keys(webhookData);

/** `routing_suggestion` → `RoutingSuggestionWebhook`. */
export const webhookSchemaName = (type: string): string =>
  `${type.replace(/(^|_)([a-z])/g, (_match, _sep: string, letter: string) => letter.toUpperCase())}Webhook`;

export const webhookSchemas: Record<string, object> = {
  ...Object.fromEntries(
    Object.entries(webhookData).map(([type, data]) => [
      webhookSchemaName(type),
      {
        allOf: [
          ref('WebhookEnvelope'),
          {
            type: 'object',
            required: ABOUT_A_DEPLOYMENT.has(type) ? ['deployment_id'] : [],
            properties: { event_type: { const: type }, data },
          },
        ],
      },
    ]),
  ),
  Webhook: {
    description: 'Any webhook: the envelope and the `data` of its `event_type`.',
    oneOf: WEBHOOK_TYPES.map((type) => ref(webhookSchemaName(type))),
    discriminator: {
      propertyName: 'event_type',
      mapping: Object.fromEntries(
        WEBHOOK_TYPES.map((type) => [type, `#/components/schemas/${webhookSchemaName(type)}`]),
      ),
    },
  },
};
