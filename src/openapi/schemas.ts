/** JSON Schemas (OpenAPI 3.1 = JSON Schema 2020-12) of the contract's bodies and views. */

import { DEPLOYMENT_STATUSES } from '../deployments/status.js';
import { SESSION_STATUSES } from '../sessions/status.js';

const SLUG = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const time = { type: 'string', format: 'date-time' } as const;
const nullable = (schema: object) => ({ oneOf: [schema, { type: 'null' }] });
const route = { type: 'string', enum: ['architect', 'pm', 'builder', 'party-mode'] } as const;
const stepName = {
  type: 'string',
  enum: ['namespace', 'rbac', 'configmaps', 'pvcs', 'manifests', 'ingress', 'pods_ready', 'tests'],
} as const;

export const schemas: Record<string, object> = {
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem document (application/problem+json). `errors` lists every failing field on 400.',
    required: ['type', 'title', 'status', 'detail'],
    properties: {
      type: { type: 'string', format: 'uri' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      instance: { type: 'string' },
      errors: {
        type: 'array',
        items: {
          type: 'object',
          required: ['path', 'message'],
          properties: { path: { type: 'string' }, message: { type: 'string' } },
        },
      },
    },
  },
  Health: {
    type: 'object',
    required: ['status', 'version'],
    properties: {
      status: { type: 'string', enum: ['ok', 'failing'] },
      version: { type: 'string', examples: ['1.1.0'] },
      reason: { type: 'string', description: 'With `failing`: what only a restart can mend' },
    },
  },
  Readiness: {
    type: 'object',
    required: ['status', 'checks'],
    properties: {
      status: { type: 'string', enum: ['ready', 'degraded'] },
      checks: {
        type: 'object',
        description:
          '"ok", "error: <reason>", or "not configured" for each dependency; `opencode` is "no model configured" while opencode.config names no provider and model (degraded, 200). `disk` (embedded log only): the free space of the log’s file system against its reserve.',
        properties: {
          event_store: { type: 'string' },
          disk: { type: 'string' },
          opencode: { type: 'string' },
          kubernetes: { type: 'string' },
        },
        required: ['event_store'],
      },
    },
  },
  Slug: { type: 'string', pattern: SLUG, maxLength: 40, description: 'DNS-1123 label' },
  Route: route,
  Task: {
    type: 'object',
    required: ['title', 'description'],
    properties: {
      title: { type: 'string', minLength: 1, maxLength: 200 },
      description: { type: 'string', minLength: 0, maxLength: 20000 },
    },
  },
  AnalyzeRequest: ref('Task'),
  RoutingAnalysis: {
    type: 'object',
    required: ['suggested', 'confidence', 'reason', 'scores', 'signals'],
    properties: {
      suggested: route,
      confidence: { type: 'number', minimum: 0, maximum: 1 },
      reason: { type: 'string', description: 'Names the deciding signals in a sentence a person can read in Slack.' },
      scores: {
        type: 'object',
        required: ['architect', 'pm', 'builder', 'party-mode'],
        properties: {
          architect: { type: 'number' },
          pm: { type: 'number' },
          builder: { type: 'number' },
          'party-mode': { type: 'number' },
        },
      },
      signals: {
        type: 'array',
        items: {
          type: 'object',
          required: ['route', 'term', 'weight'],
          properties: { route, term: { type: 'string' }, weight: { type: 'number' } },
        },
      },
      decided_by: {
        type: 'string',
        enum: ['signals', 'examples', 'model'],
        description:
          'Which decided the suggestion: the weighted signals (the security rule, or no labelled examples configured), the labelled examples with the signals (`routing.examples_files`: a naive Bayes classifier’s odds and the signals’ scores together choose; the confidence is at least 0.80 when both pick that route by a clear lead, below when they do not; when the architect scores close behind the best route it is suggested instead, at 0.30, for a person to confirm), or the model’s second opinion (`routing.model_assist`). The gateway’s own answer stands when the model is off, not asked, slow, wrong-shaped or failing.',
      },
      security_first: {
        type: 'boolean',
        description:
          'Present (true) when the first rule decided: security-sensitive work goes to the architect. The model is never asked then.',
      },
      model_opinion: {
        type: 'object',
        description: 'What the model answered, when it decided.',
        required: ['route', 'confidence', 'reason'],
        properties: { route, confidence: { type: 'number', minimum: 0, maximum: 1 }, reason: { type: 'string' } },
      },
      model_error: { type: 'string', description: 'Why the model’s opinion was not used, when it was asked.' },
    },
  },
  CreateSessionRequest: {
    type: 'object',
    required: ['category', 'project', 'repos', 'task'],
    properties: {
      category: ref('Slug'),
      project: ref('Slug'),
      repos: {
        type: 'array',
        minItems: 1,
        maxItems: 20,
        items: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', pattern: SLUG, maxLength: 63 },
            url: {
              type: 'string',
              description:
                'Where to clone it from: it must start with one of `workspace.allowed_url_patterns` (default `https://`, `ssh://`, `git@`), or be a folder under `workspace.repos_root`; no loopback, private or link-local address, written or resolved (`workspace.allow_private_addresses`). Credentials in it are dropped: the URL is kept and shown without them, and git gets credentials from `workspace.git_credentials`. A refused URL is a 400 naming `repos[i].url` and why; two repos of one session may not be the same repository.',
            },
            ref: { type: 'string' },
          },
        },
      },
      task: ref('Task'),
      requested_by: {
        type: 'object',
        properties: { user: { type: 'string' }, channel: { type: 'string' }, thread_ts: { type: 'string' } },
      },
    },
  },
  RequestedBy: {
    ...nullable({
      type: 'object',
      required: ['user', 'channel', 'thread_ts'],
      properties: {
        user: nullable({ type: 'string' }),
        channel: nullable({ type: 'string' }),
        thread_ts: nullable({ type: 'string' }),
      },
    }),
    description:
      'Who asked for the session, as given to POST /api/sessions (a field not given is null), so the Slack backend finds the thread from any view or webhook; null when nobody was named',
  },
  SessionStatus: { type: 'string', enum: [...SESSION_STATUSES] },
  AgentStatus: { type: 'string', enum: ['idle', 'working', 'waiting_for_answer'] },
  Session: {
    type: 'object',
    required: [
      'session_id',
      'category',
      'project',
      'repos',
      'task',
      'status',
      'agent_status',
      'error',
      'requested_by',
      'route',
      'workspace_path',
      'pending_question',
      'deployments',
      'created_at',
      'updated_at',
      'revision',
    ],
    properties: {
      session_id: { type: 'string' },
      category: { type: 'string' },
      project: { type: 'string' },
      repos: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'url', 'ref', 'worktree_path', 'branch', 'base_commit', 'pushed', 'push_error'],
          properties: {
            name: { type: 'string' },
            url: nullable({ type: 'string', description: 'As given, without credentials; null when not given' }),
            ref: nullable({ type: 'string', description: 'As given; null when not given (the default branch)' }),
            worktree_path: nullable({ type: 'string' }),
            branch: nullable({ type: 'string' }),
            base_commit: nullable({ type: 'string' }),
            pushed: {
              ...nullable({
                type: 'object',
                required: ['remote', 'branch', 'commit', 'pushed_at', 'compare_url'],
                additionalProperties: false,
                properties: {
                  remote: { type: 'string', description: 'The URL the repo was cloned from, without credentials' },
                  branch: { type: 'string', description: 'The builder branch, as named on the remote' },
                  commit: { type: 'string', description: 'The commit the remote’s branch was set to' },
                  pushed_at: time,
                  compare_url: nullable({
                    type: 'string',
                    description:
                      '`workspace.compare_url` with `{repo}` and `{branch}` filled in; null when not configured',
                  }),
                },
              }),
              description:
                'The builder branch as the remote last took it (`workspace.push`: pushed after each agent turn that changed the worktree and before a deployment, repos given by `url` only); null until a push succeeds, and always when `workspace.push` is off.',
            },
            push_error: {
              ...nullable({ type: 'string' }),
              description:
                'Why the last push failed (the remote refused it, e.g. not a fast-forward, or could not be reached), without credentials; null when the last push succeeded or none failed. The work stays on the gateway’s builder branch and the next push tries again.',
            },
          },
        },
      },
      task: ref('Task'),
      status: ref('SessionStatus'),
      agent_status: ref('AgentStatus'),
      error: nullable({
        type: 'string',
        description:
          'Why the session failed, naming the repo and the cause (a ref that does not exist, a repository that cannot be reached, ...); null unless `failed`.',
      }),
      requested_by: ref('RequestedBy'),
      route: {
        type: 'object',
        required: ['suggested', 'confidence', 'reason', 'confirmed', 'confirmed_by'],
        description: 'Every field is null until the gateway has suggested a route (a moment after creation)',
        properties: {
          suggested: nullable(route),
          confidence: nullable({ type: 'number', minimum: 0, maximum: 1 }),
          reason: nullable({ type: 'string' }),
          confirmed: nullable(route),
          confirmed_by: nullable({ type: 'string' }),
        },
      },
      workspace_path: nullable({ type: 'string' }),
      pending_question: nullable({
        type: 'object',
        required: ['question_id', 'text', 'options'],
        properties: {
          question_id: { type: 'string' },
          text: { type: 'string' },
          options: { type: 'array', items: { type: 'string' } },
        },
      }),
      deployments: { type: 'array', items: { type: 'string' } },
      created_at: time,
      updated_at: time,
      revision: { type: 'integer', minimum: 0 },
    },
  },
  ConfirmRouteRequest: { type: 'object', required: ['route'], properties: { route, confirmed_by: { type: 'string' } } },
  SendMessageRequest: {
    type: 'object',
    required: ['text'],
    properties: { text: { type: 'string', minLength: 1, maxLength: 50000 }, from: { type: 'string' } },
  },
  MessageAccepted: { type: 'object', required: ['message_id'], properties: { message_id: { type: 'string' } } },
  Message: {
    type: 'object',
    required: ['message_id', 'role', 'text', 'from', 'at'],
    properties: {
      message_id: { type: 'string' },
      role: {
        type: 'string',
        enum: ['user', 'agent', 'question', 'answer', 'error'],
        description:
          '`error`: a turn of the agent that failed, saying why (e.g. the model provider could not be reached).',
      },
      text: { type: 'string' },
      from: nullable({ type: 'string' }),
      at: time,
    },
  },
  AnswerRequest: { type: 'object', required: ['answer'], properties: { answer: { type: 'string', minLength: 1 } } },
  CloseSessionRequest: {
    type: 'object',
    properties: { reason: { type: 'string' }, remove_workspace: { type: 'boolean' } },
  },
  CreateDeploymentRequest: {
    type: 'object',
    required: ['session_id'],
    properties: { session_id: { type: 'string' }, branch: { type: 'string' }, repo: { type: 'string' } },
  },
  DeploymentStatus: {
    type: 'string',
    enum: [...DEPLOYMENT_STATUSES],
  },
  Plan: {
    type: 'object',
    required: ['namespace', 'strategy', 'runtime', 'configmaps', 'pvcs', 'url', 'steps'],
    properties: {
      namespace: { type: 'string' },
      strategy: { const: 'configmap_pvc' },
      runtime: {
        type: 'object',
        required: ['kind', 'image', 'command'],
        properties: {
          kind: { type: 'string', enum: ['uv', 'camel-jbang', 'node'] },
          image: { type: 'string' },
          command: { type: 'array', items: { type: 'string' } },
        },
      },
      configmaps: { type: 'array', items: ref('PlannedVolume') },
      pvcs: { type: 'array', items: ref('PlannedVolume') },
      url: { type: 'string', format: 'uri' },
      steps: { type: 'array', items: stepName },
    },
  },
  PlannedVolume: {
    type: 'object',
    required: ['name', 'files', 'bytes'],
    properties: { name: { type: 'string' }, files: { type: 'integer' }, bytes: { type: 'integer' } },
  },
  Step: {
    type: 'object',
    required: ['name', 'status', 'started_at', 'finished_at', 'detail'],
    properties: {
      name: stepName,
      status: { type: 'string', enum: ['pending', 'running', 'done', 'failed', 'skipped'] },
      started_at: nullable(time),
      finished_at: nullable(time),
      detail: nullable({ type: 'string' }),
    },
  },
  Suite: {
    type: 'object',
    required: ['passed', 'total', 'failed', 'skipped', 'duration_ms', 'failures', 'log_tail'],
    properties: {
      passed: { type: 'boolean' },
      total: { type: 'integer' },
      failed: { type: 'integer' },
      skipped: { type: 'integer' },
      duration_ms: { type: 'integer' },
      failures: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'message'],
          properties: { name: { type: 'string' }, message: { type: 'string' } },
        },
      },
      log_tail: { type: 'string' },
    },
  },
  Tests: {
    type: 'object',
    required: ['unit', 'integration', 'acceptance', 'all_passing'],
    properties: {
      unit: ref('Suite'),
      integration: ref('Suite'),
      acceptance: ref('Suite'),
      all_passing: { type: 'boolean' },
    },
  },
  Deployment: {
    type: 'object',
    required: ['deployment_id', 'session_id', 'branch', 'status', 'plan', 'steps', 'url', 'tests', 'error', 'revision'],
    properties: {
      deployment_id: { type: 'string' },
      session_id: { type: 'string' },
      branch: { type: 'string' },
      status: ref('DeploymentStatus'),
      plan: ref('Plan'),
      steps: { type: 'array', items: ref('Step') },
      url: nullable({ type: 'string' }),
      tests: nullable(ref('Tests')),
      error: nullable({ type: 'string' }),
      expires_at: { ...nullable(time), description: 'While awaiting confirmation: when the plan expires' },
      created_at: time,
      updated_at: time,
      revision: { type: 'integer', minimum: 0 },
    },
  },
  ConfirmDeploymentRequest: { type: 'object', properties: { confirmed_by: { type: 'string' } } },
  RejectDeploymentRequest: { type: 'object', properties: { reason: { type: 'string' } } },
  Namespace: {
    type: 'object',
    required: ['name', 'project_id', 'url', 'created_at', 'deletion_scheduled_for', 'deletion_error'],
    properties: {
      name: { type: 'string' },
      project_id: { type: 'string' },
      url: { type: 'string' },
      created_at: time,
      deletion_scheduled_for: nullable(time),
      deletion_error: nullable({
        type: 'string',
        description:
          'Why the last try to delete it failed (the cluster’s words); it is tried again after 10 s, 20 s, 40 s, … at most 10 min apart, and this is null again once it is gone',
      }),
    },
  },
  NamespaceDeletion: {
    type: 'object',
    required: ['name', 'deletion_scheduled_for'],
    properties: { name: { type: 'string' }, deletion_scheduled_for: nullable(time) },
  },
  WebhookEnvelope: {
    type: 'object',
    description: 'What every webhook carries; `data` is its event type’s (see `Webhook`).',
    required: ['event_id', 'event_type', 'occurred_at', 'session_id', 'sequence', 'requested_by', 'data'],
    properties: {
      event_id: { type: 'string' },
      event_type: {
        type: 'string',
        enum: [
          'routing_suggestion',
          'progress',
          'question',
          'agent_reply',
          'deployment_confirmation_requested',
          'deployment_ready',
          'test_results',
          'deployment_failed',
          'session_closed',
          'session_failed',
          'agent_error',
        ],
      },
      occurred_at: time,
      session_id: { type: 'string' },
      sequence: {
        type: 'integer',
        minimum: 1,
        description:
          '1, 2, 3, ... per session, in event order; a redelivery keeps its number, and a parked webhook leaves a gap until it is delivered',
      },
      requested_by: ref('RequestedBy'),
      deployment_id: { type: 'string', description: 'Present on the deployment webhooks and test_results' },
      data: { type: 'object' },
    },
  },
  FailedWebhook: {
    type: 'object',
    required: ['event_id', 'event_type', 'session_id', 'attempts', 'last_error', 'failed_at', 'revision'],
    properties: {
      event_id: { type: 'string' },
      event_type: { type: 'string' },
      session_id: { type: 'string' },
      attempts: { type: 'integer' },
      last_error: { type: 'string' },
      failed_at: time,
      held_behind: nullable({
        type: 'string',
        description:
          'Null since contract 1.1 (a parked webhook no longer holds back later ones); for a webhook held behind an earlier parked one before that, that one’s id.',
      }),
      revision: {
        type: 'integer',
        description:
          'The revision of the session’s webhook stream at this webhook’s last change: its ETag, and what `If-Match` on its retry names (every view carries one).',
      },
    },
  },
  SlackInteraction: {
    type: 'object',
    required: ['payload'],
    properties: {
      payload: {
        type: 'string',
        description:
          'JSON as Slack sends it; the first action’s value is read from `actions[0].value` (a button) or `actions[0].selected_option.value` (a select menu, radio group or overflow menu). Action values `confirm_deployment:<id>`, `reject_deployment:<id>`, `confirm_route:<session_id>:<route>`, `answer:<session_id>:<question_id>:<text>`.',
      },
    },
  },
  SlackEphemeral: {
    type: 'object',
    description:
      'A Slack message only the person who clicked sees: the answer to a click that can no longer act, saying what happened and by whom.',
    required: ['response_type', 'text'],
    properties: {
      response_type: { const: 'ephemeral' },
      text: {
        type: 'string',
        description: 'Slack mrkdwn, e.g. "This deployment was already confirmed by ann at 10:42 UTC."',
        examples: ['This deployment was already confirmed by ann at 10:42 UTC.'],
      },
    },
  },
  AuditEvent: {
    type: 'object',
    description:
      'An event as stored: `data` is not decoded, so what is shown is what is hashed, except credentials in URLs (`https://user:token@host/…`), which are never shown: such an event names what was removed in `redacted`, and its hash is checked where the log is read raw (GET /api/audit/verify).',
    required: ['position', 'stream', 'revision', 'event_id', 'type', 'data', 'metadata'],
    properties: {
      position: { type: 'integer', minimum: 0, description: 'Place in `$all`' },
      stream: { type: 'string' },
      revision: { type: 'integer', minimum: 0, description: 'Place in its stream' },
      event_id: { type: 'string' },
      type: { type: 'string' },
      data: { type: 'object' },
      redacted: {
        type: 'array',
        items: { type: 'string' },
        description:
          'Paths in the event whose credentials were removed from what is shown, e.g. `data.repos[0].url`; absent when nothing was removed',
        examples: [['data.repos[0].url']],
      },
      metadata: {
        type: 'object',
        description: 'Each field is null only on a record that lacks it (not written by the gateway, or damaged).',
        required: ['actor', 'correlation_id', 'causation_id', 'recorded_at', 'hash'],
        properties: {
          actor: nullable({
            type: 'string',
            description: 'Token name, `pm:<process manager>`, `timer` or `system:<part>`',
          }),
          correlation_id: nullable({
            type: 'string',
            description: 'The originating request’s `X-Correlation-Id`: one request’s whole story shares it',
          }),
          causation_id: nullable({ type: 'string', description: 'The request or event that caused this event' }),
          recorded_at: nullable(time),
          hash: nullable({
            type: 'string',
            pattern: '^[0-9a-f]{64}$',
            description:
              'SHA-256 hex of the previous event’s hash in the stream (64 zeros for the first), a newline, and the RFC 8785 canonical JSON of {id, stream, revision, type, data, actor, correlation_id, causation_id, recorded_at}',
          }),
        },
      },
    },
  },
  Verification: {
    type: 'object',
    required: ['ok', 'events_checked', 'first_bad'],
    properties: {
      ok: { type: 'boolean' },
      events_checked: {
        type: 'integer',
        minimum: 0,
        description: 'Events read: the whole log when ok, else up to and including the first bad one',
      },
      first_bad: nullable({
        type: 'object',
        required: ['stream', 'revision', 'reason'],
        properties: {
          stream: { type: 'string' },
          revision: { type: 'integer', minimum: 0, description: 'The revision the log now gives the event' },
          reason: { type: 'string', description: 'What is wrong, in a sentence a person understands' },
        },
      }),
    },
  },
};

/** `{ items, next_cursor }` around a schema. */
export const listOf = (item: string) => ({
  type: 'object',
  required: ['items', 'next_cursor'],
  properties: { items: { type: 'array', items: ref(item) }, next_cursor: nullable({ type: 'string' }) },
});

/** An object with exactly these properties: what is sent beyond them departs from the document. */
const strictObject = (required: string[], properties: Record<string, object>, description?: string) => ({
  type: 'object',
  required,
  additionalProperties: false,
  properties,
  ...(description ? { description } : {}),
});

export { nullable, ref, route, stepName, strictObject, time };
