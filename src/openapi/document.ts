import { listOf, ref, schemas } from './schemas.js';
import { webhookSchemaName, webhookSchemas } from './webhook-schemas.js';
import { DEPLOYMENT_SSE_EVENTS, SESSION_SSE_EVENTS, sseSchemas } from './sse-schemas.js';
import { SESSION_STATUSES } from '../sessions/status.js';

/**
 * The API Contract v1.1.0 as OpenAPI 3.1: every operation of the contract. `x-implemented` says
 * whether the gateway serves it (all do now; a test checks it against the app's routes);
 * `x-roles` names who may call.
 * A test checks this list against the contract's operations and against the app's routes.
 */

type Role = 'operator' | 'viewer' | 'auditor';
interface Op {
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly implemented: boolean;
  /** Public operations have none. */
  readonly roles?: readonly Role[];
  readonly params?: readonly object[];
  readonly body?: object;
  readonly bodyType?: string;
  readonly responses: Record<string, object>;
  /** Client errors this operation can answer, beyond the ones every protected operation has. */
  readonly errors?: readonly number[];
  readonly idempotent?: boolean;
  readonly ifMatch?: boolean;
}

const READ: readonly Role[] = ['operator', 'viewer', 'auditor'];
const COMMAND: readonly Role[] = ['operator'];
const AUDIT: readonly Role[] = ['operator', 'auditor'];

const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
const viewWithETag = (schema: object, description: string) => ({
  ...json(schema, description),
  headers: {
    ETag: {
      description: 'The resource revision in quotes, e.g. "3"',
      required: true,
      schema: { type: 'string', pattern: '^"\\d+"$' },
    },
    Location: { description: 'On a command’s 202: the resource’s address', schema: { type: 'string' } },
    'Idempotent-Replayed': {
      description: '`true` when this is the first response to an earlier request with the same Idempotency-Key',
      schema: { type: 'string', enum: ['true'] },
    },
  },
});
/** An SSE stream; `x-sse-events` names the schema of each `event:` type's `data:` line. */
const sse = (description: string, events: Record<string, object>) => ({
  description,
  content: { 'text/event-stream': { schema: { type: 'string', description }, 'x-sse-events': events } },
});
const pathParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});
const query = (name: string, schema: object, description: string) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const paging = [
  query('limit', { type: 'integer', minimum: 1, maximum: 500, default: 50 }, 'Page size'),
  query('cursor', { type: 'string' }, '`next_cursor` of the previous page'),
];
const asOf = query(
  'as_of',
  { type: 'string' },
  'An RFC 3339 time or a `$all` position: the view as it stood then, folded from history',
);
const resume = [
  {
    name: 'Last-Event-ID',
    in: 'header',
    required: false,
    description: 'Resume after this revision (what EventSource sends on reconnect)',
    schema: { type: 'string' },
  },
  query('from', { type: 'integer', minimum: 0 }, 'Resume after this revision (when a header cannot be set)'),
];

const PROBLEM_TEXT: Record<number, string> = {
  400: 'Malformed JSON or a body/query that fails validation; `errors` names every failing field',
  401: 'No or bad credentials',
  403: 'The token’s role may not call this operation',
  404: 'Unknown resource',
  409: 'Not allowed in the resource’s current state; `detail` says which state',
  412: '`If-Match` revision mismatch',
  413: 'Body over the configured limit',
  414: 'The path or the query string is over the configured limit (`http.max_path_length`, `http.max_query_length`)',
  415: 'Body is not JSON',
  431: 'More header fields than the configured limit (`http.max_headers`)',
  422: '`Idempotency-Key` reused with a different body',
  429: 'Rate limited: per token on /api, per address without a valid token; `Retry-After` says when to try again',
  503: 'A dependency (the event store) is unavailable, or, for an operation that starts new work (a session, a deployment), the event log’s disk is below its reserve; `detail` says which, `Retry-After` when to try again',
};
const problem = (status: number) => ({
  description: PROBLEM_TEXT[status] ?? 'Error',
  ...(status === 503 || status === 429
    ? { headers: { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'string' } } } }
    : {}),
  content: { 'application/problem+json': { schema: ref('Problem') } },
});

const SESSION_EVENTS =
  'Events (the deployment issue adds `deployment`): `agent_output` {message_id, text}, `progress` {summary}, `question` {question_id, text, options}, `status` {status, agent_status} (a failed session adds `error`, as its view), `deployment` {deployment_id, status}. `id:` is the revision in the session stream; `retry: 2000` first; `: keepalive` at least every 15 s.';
const DEPLOYMENT_EVENTS =
  'Events: `progress` {step, message} (a step began, or news from it such as a pod’s state), `step_complete` {step, status, detail}, `test_results` (the tests object), `complete` {status, url, all_passing} (a failed, rejected or expired deployment adds `error`, a failed one `failed_step`); the server ends the stream after `complete`, and a client resuming after it gets the end at once. `id:` is the revision in the deployment stream; `retry: 2000` first; `: keepalive` at least every 15 s.';

const sessionId = pathParam('session_id', 'Session id');
const deploymentId = pathParam('deployment_id', 'Deployment id');

const operations: Record<string, Record<string, Op>> = {
  '/health': {
    get: {
      tag: 'service',
      summary: 'Liveness (no I/O)',
      description:
        'Fails only for what a restart of the process is needed for: the embedded event log lost acknowledged records, or could not be restored after a write failure for 60 s. A full disk is not such a failure: the log recovers by itself when space returns (see /ready).',
      implemented: true,
      responses: {
        200: json(ref('Health'), 'Alive'),
        503: json(ref('Health'), 'Failing: only a restart can mend it; `reason` says why'),
      },
    },
  },
  '/ready': {
    get: {
      tag: 'service',
      summary:
        'Readiness: the event store (503 when it cannot serve, e.g. its writes fail), the disk reserve of the embedded log, OpenCode (when enabled) and Kubernetes (when a cluster is configured; else "not configured")',
      description:
        'Only the event store makes this 503: without it the API cannot serve. A failing `disk` (free space below `event_store.min_free_bytes`: new sessions and deployments wait), `opencode` or `kubernetes` check answers 200 with `status: "degraded"`, so a readiness probe never takes the API away for them.',
      implemented: true,
      responses: {
        200: json(ref('Readiness'), 'Ready, or degraded with the event store working'),
        503: json(ref('Readiness'), 'The event store cannot serve'),
      },
    },
  },
  '/metrics': {
    get: {
      tag: 'service',
      summary: 'Prometheus metrics',
      description: 'HTTP latency by route, events appended, subscription lag, process metrics.',
      implemented: true,
      responses: {
        200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
      },
    },
  },
  '/openapi.json': {
    get: {
      tag: 'service',
      summary: 'This document',
      implemented: true,
      responses: { 200: json({ type: 'object' }, 'OpenAPI 3.1') },
    },
  },
  '/docs': {
    get: {
      tag: 'service',
      summary: 'This document, rendered',
      implemented: true,
      responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
    },
  },
  '/docs/{asset}': {
    get: {
      tag: 'service',
      summary: 'The files the rendered document loads (swagger-ui-dist, served by the gateway: no CDN)',
      implemented: true,
      params: [
        pathParam('asset', '`swagger-ui.css`, `swagger-ui-bundle.js`, `swagger-ui-standalone-preset.js`, `init.js`'),
      ],
      errors: [404],
      responses: {
        200: {
          description: 'The file',
          content: {
            'text/css': { schema: { type: 'string' } },
            'application/javascript': { schema: { type: 'string' } },
          },
        },
      },
    },
  },
  '/labs/bundles/{file}': {
    get: {
      tag: 'deployments',
      summary: 'A lab’s large files, for its init container (signed URL, no token)',
      description:
        'A gzip tar of the files of a deployment too large for ConfigMaps, addressed by the SHA-256 of the files. Lab pods fetch it once into their PVC with the URL the gateway put in the pod spec: `expires` (unix seconds) and `signature` (HMAC-SHA256 of `bundle:<sha256>:<expires>` with the gateway’s bundle secret). 403 for a wrong or expired signature (checked before anything else), 404 for a name that is not `<sha256>.tar.gz` or a bundle the gateway does not hold.',
      implemented: true,
      params: [
        pathParam('file', '`<sha256>.tar.gz`'),
        query('expires', { type: 'string' }, 'Unix seconds'),
        query('signature', { type: 'string' }, 'Hex HMAC'),
      ],
      errors: [403, 404],
      responses: {
        200: {
          description: 'The bundle',
          content: { 'application/gzip': { schema: { type: 'string', contentMediaType: 'application/gzip' } } },
        },
      },
    },
  },
  '/api/routing/analyze': {
    post: {
      tag: 'routing',
      summary: 'Suggest a BMAD route for a task (pure analysis, appends nothing)',
      description:
        'Security-sensitive work → architect; business rules, pricing, requirements, user stories → pm; small concrete implementation → builder; large, cross-cutting, ambiguous or unknown → party-mode. The weighted terms are in the operator’s signals file (routing.signals_file).',
      implemented: true,
      roles: COMMAND,
      body: ref('AnalyzeRequest'),
      responses: { 200: json(ref('RoutingAnalysis'), 'The suggestion') },
    },
  },
  '/api/sessions': {
    post: {
      tag: 'sessions',
      summary: 'Open a session: workspace, route suggestion, agent',
      description:
        'Suggests a route at once (`RouteSuggested`); at or above the auto-confirm confidence it confirms it, below it the session waits in `awaiting_route` and a `routing_suggestion` webhook asks a person. While the event log’s disk is below its reserve (`event_store.min_free_bytes`) this is a 503 with `Retry-After`, so work under way can finish. The workspace is made afterwards: a repo given by `url` is cloned the first time and fetched every time, so a session starts from what the remote has then (`ref` a branch of the remote, a tag or a commit; default the remote’s HEAD); a fetch that fails or runs past `workspace.clone_timeout` fails the session as a failed clone does. The branch `builder/<category>-<project>` is kept from earlier sessions of the project with their work: a `ref` given must be where that branch starts (its base, where it meets the ref’s commit, which is what `repos[].base_commit` reports), else the session fails (`failed`, a `session_failed` webhook) with an `error` naming the repo, the ref and its commit, the branch and its base, and how to go on (without a ref, or with the base as `ref`, the branch goes on; to start from the ref, an operator deletes the branch). That is not a 409 here: the ref’s commit and the branch are known only once the clone is fetched, after the request is accepted.',
      implemented: true,
      roles: COMMAND,
      body: ref('CreateSessionRequest'),
      idempotent: true,
      errors: [409],
      responses: {
        202: viewWithETag(ref('Session'), 'Accepted: the session view'),
        409: {
          ...problem(409),
          description:
            'The project’s builder (`builder/<category>-<project>`) is held by another open session, named in `detail`: one session per builder at a time; close it first',
        },
      },
    },
    get: {
      tag: 'sessions',
      summary: 'List sessions',
      implemented: true,
      roles: READ,
      params: [
        query(
          'status',
          { type: 'string', enum: [...SESSION_STATUSES] },
          '`active` means every status but closed and failed',
        ),
        query('category', { type: 'string' }, 'Category slug'),
        query('project', { type: 'string' }, 'Project slug'),
        ...paging,
      ],
      responses: { 200: json(listOf('Session'), 'A page of session views') },
    },
  },
  '/api/sessions/{session_id}': {
    get: {
      tag: 'sessions',
      summary: 'A session view',
      implemented: true,
      roles: READ,
      params: [sessionId, asOf],
      errors: [404],
      responses: { 200: viewWithETag(ref('Session'), 'The session') },
    },
  },
  '/api/sessions/{session_id}/route': {
    post: {
      tag: 'sessions',
      summary: 'Confirm or override the suggested route; the agent starts with that persona',
      implemented: true,
      roles: COMMAND,
      params: [sessionId],
      body: ref('ConfirmRouteRequest'),
      idempotent: true,
      ifMatch: true,
      errors: [404, 409],
      responses: { 202: viewWithETag(ref('Session'), 'Accepted') },
    },
  },
  '/api/sessions/{session_id}/messages': {
    post: {
      tag: 'sessions',
      summary: 'Send a message to the agent (409 unless active)',
      implemented: true,
      roles: COMMAND,
      params: [sessionId],
      body: ref('SendMessageRequest'),
      idempotent: true,
      ifMatch: true,
      errors: [404, 409],
      responses: { 202: json(ref('MessageAccepted'), 'Accepted') },
    },
    get: {
      tag: 'sessions',
      summary: 'The conversation in order (agent entries are the final text of each turn)',
      implemented: true,
      roles: READ,
      params: [sessionId, ...paging],
      errors: [404],
      responses: { 200: json(listOf('Message'), 'Messages') },
    },
  },
  '/api/sessions/{session_id}/questions/{question_id}/answer': {
    post: {
      tag: 'sessions',
      summary:
        'Answer the agent’s question (404 when no such question waits; 409 when answered already or the session is not active)',
      implemented: true,
      roles: COMMAND,
      params: [sessionId, pathParam('question_id', 'Question id')],
      body: ref('AnswerRequest'),
      idempotent: true,
      ifMatch: true,
      errors: [404, 409],
      responses: { 202: viewWithETag(ref('Session'), 'Accepted') },
    },
  },
  '/api/sessions/{session_id}/pause': {
    post: {
      tag: 'sessions',
      summary: 'Pause (the agent’s current turn is aborted)',
      implemented: true,
      roles: COMMAND,
      params: [sessionId],
      idempotent: true,
      ifMatch: true,
      errors: [404, 409],
      responses: { 202: viewWithETag(ref('Session'), 'Accepted') },
    },
  },
  '/api/sessions/{session_id}/resume': {
    post: {
      tag: 'sessions',
      summary: 'Resume a paused session',
      implemented: true,
      roles: COMMAND,
      params: [sessionId],
      idempotent: true,
      ifMatch: true,
      errors: [404, 409],
      responses: { 202: viewWithETag(ref('Session'), 'Accepted') },
    },
  },
  '/api/sessions/{session_id}/close': {
    post: {
      tag: 'sessions',
      summary: 'Close the session (optionally removing its workspace)',
      implemented: true,
      roles: COMMAND,
      params: [sessionId],
      body: ref('CloseSessionRequest'),
      idempotent: true,
      ifMatch: true,
      errors: [404, 409],
      responses: { 202: viewWithETag(ref('Session'), 'Accepted') },
    },
  },
  '/api/sessions/{session_id}/events': {
    get: {
      tag: 'sessions',
      summary: 'SSE tail of the session stream',
      description: SESSION_EVENTS,
      implemented: true,
      roles: READ,
      params: [sessionId, ...resume],
      errors: [404],
      responses: { 200: sse(SESSION_EVENTS, SESSION_SSE_EVENTS) },
    },
  },
  '/api/deployments': {
    post: {
      tag: 'deployments',
      summary: 'Plan a deployment of the session’s branch; asks for confirmation',
      description:
        'Plans the head commit of the branch (default: the session’s builder branch) of the repo (default: the session’s first): its files (git’s own list) split into ConfigMaps and a PVC, the detected runtime, namespace `<project>-lab` and its URL. A `deployment_confirmation_requested` webhook asks for confirmation; without an answer within `deployment.confirmation_timeout` seconds it expires. 400 names a repo the session lacks or a branch that does not exist; 409 when the workspace is not ready, the session has ended, or the runtime cannot be told. 503 with `Retry-After` while the event log’s disk is below its reserve (`event_store.min_free_bytes`), so work under way can finish.',
      implemented: true,
      roles: COMMAND,
      body: ref('CreateDeploymentRequest'),
      idempotent: true,
      errors: [400, 404, 409],
      responses: { 202: viewWithETag(ref('Deployment'), 'Accepted: the deployment view with its plan') },
    },
    get: {
      tag: 'deployments',
      summary: 'List deployments',
      implemented: true,
      roles: READ,
      params: [
        query('session_id', { type: 'string' }, 'Only this session’s'),
        query('status', ref('DeploymentStatus'), 'Only this status'),
        ...paging,
      ],
      responses: { 200: json(listOf('Deployment'), 'A page of deployment views') },
    },
  },
  '/api/deployments/{deployment_id}': {
    get: {
      tag: 'deployments',
      summary: 'A deployment view',
      implemented: true,
      roles: READ,
      params: [deploymentId, asOf],
      errors: [404],
      responses: { 200: viewWithETag(ref('Deployment'), 'The deployment') },
    },
  },
  '/api/deployments/{deployment_id}/confirm': {
    post: {
      tag: 'deployments',
      summary:
        'Confirm (409 unless awaiting_confirmation, or while another deployment of the same lab runs; two concurrent confirms start one execution)',
      implemented: true,
      roles: COMMAND,
      params: [deploymentId],
      body: ref('ConfirmDeploymentRequest'),
      idempotent: true,
      ifMatch: true,
      errors: [404, 409],
      responses: { 202: viewWithETag(ref('Deployment'), 'Accepted') },
    },
  },
  '/api/deployments/{deployment_id}/reject': {
    post: {
      tag: 'deployments',
      summary: 'Reject (409 unless awaiting_confirmation)',
      implemented: true,
      roles: COMMAND,
      params: [deploymentId],
      body: ref('RejectDeploymentRequest'),
      idempotent: true,
      ifMatch: true,
      errors: [404, 409],
      responses: { 202: viewWithETag(ref('Deployment'), 'Accepted') },
    },
  },
  '/api/deployments/{deployment_id}/tests': {
    get: {
      tag: 'deployments',
      summary: 'Test results',
      description:
        'The latest run’s unit (the repository’s own command in the session’s worktree: declared in `.lab.yaml` `tests.unit` or detected), integration (`tests.integration`, with the lab’s URL in `LAB_URL`) and acceptance (the `.lab.yaml` `acceptance` checks, run by the gateway over HTTP against the lab) suites; counts from JUnit XML where the runner writes it (`{junit}` in a declared command), else from the exit code. A suite that did not run has `total` 0 and `passed` false; `all_passing` is true only when every suite ran and passed. 404 while no run has finished.',
      implemented: true,
      roles: READ,
      params: [deploymentId],
      errors: [404],
      responses: { 200: json(ref('Tests'), 'Unit, integration and acceptance suites') },
    },
  },
  '/api/deployments/{deployment_id}/tests/rerun': {
    post: {
      tag: 'deployments',
      summary: 'Run the tests again',
      description:
        'Against the lab as it is: the deployment is `testing` until the results arrive (`test_results` webhook), then `succeeded` again. 409 unless the deployment has succeeded (its lab is up) and no rerun is under way.',
      implemented: true,
      roles: COMMAND,
      params: [deploymentId],
      idempotent: true,
      ifMatch: true,
      errors: [404, 409],
      responses: { 202: viewWithETag(ref('Deployment'), 'Accepted') },
    },
  },
  '/api/deployments/{deployment_id}/progress': {
    get: {
      tag: 'deployments',
      summary: 'SSE of the deployment’s progress',
      description: DEPLOYMENT_EVENTS,
      implemented: true,
      roles: READ,
      params: [deploymentId, ...resume],
      errors: [404],
      responses: { 200: sse(DEPLOYMENT_EVENTS, DEPLOYMENT_SSE_EVENTS) },
    },
  },
  '/api/namespaces': {
    get: {
      tag: 'namespaces',
      summary: 'Lab namespaces the gateway created',
      implemented: true,
      roles: READ,
      params: paging,
      responses: { 200: json(listOf('Namespace'), 'Namespaces') },
    },
  },
  '/api/namespaces/{name}': {
    delete: {
      tag: 'namespaces',
      summary: 'Delete a lab namespace now or after N days',
      description:
        'Only namespaces the gateway created (`<project>-lab`, labelled as managed by it); any other name, or one already deleted, is 404. Without `after_days` the deletion starts now and `deletion_scheduled_for` is now; with it a durable timer deletes it then, after a restart too. A deleted lab’s URL disappears from its deployments’ views. 409 when its deletion is under way already.',
      implemented: true,
      roles: COMMAND,
      params: [
        pathParam('name', 'Namespace name'),
        query('after_days', { type: 'integer', minimum: 1, maximum: 365 }, 'Schedule the deletion instead'),
      ],
      errors: [400, 404, 409],
      responses: { 202: json(ref('NamespaceDeletion'), 'Accepted') },
    },
  },
  '/api/webhooks/failed': {
    get: {
      tag: 'webhooks',
      summary: 'Parked (dead-lettered) webhook deliveries, oldest first',
      implemented: true,
      roles: READ,
      params: paging,
      responses: { 200: json(listOf('FailedWebhook'), 'Failed deliveries') },
    },
  },
  '/api/webhooks/failed/{event_id}/retry': {
    post: {
      tag: 'webhooks',
      summary: 'Re-send a parked webhook (one try; failing, it is parked again and the schedule goes on)',
      implemented: true,
      roles: COMMAND,
      params: [pathParam('event_id', 'Webhook event id')],
      idempotent: true,
      ifMatch: true,
      errors: [404, 409],
      responses: { 202: viewWithETag(ref('FailedWebhook'), 'Accepted: the parked webhook as the request left it') },
    },
  },
  '/api/slack/interactions': {
    post: {
      tag: 'slack',
      summary: 'Slack interactive actions (authenticated by Slack’s request signature)',
      description:
        'Verified by `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<X-Slack-Request-Timestamp>:<raw body>">` with the signing secret (`SLACK_SIGNING_SECRET`, compared in constant time); a timestamp more than 5 minutes from now, a wrong or missing signature, or no signing secret configured is 401 and nothing happens. The first action’s value runs the same command as the API: `confirm_deployment:<id>` and `reject_deployment:<id>` (as …/confirm and …/reject), `confirm_route:<session_id>:<route>` (as …/route), `answer:<session_id>:<question_id>:<text>` (as …/answer; the text may hold colons), with the Slack user as the actor (`slack:<username or id>`). The value is read from the first action: `value` for a button, `selected_option.value` for a select menu, radio group or overflow menu. When the command acts the answer is the API’s: 202 with the session or deployment view. A click that can no longer act (the deployment already confirmed, rejected or expired, the route already confirmed, the question already answered, the session closed, failed or paused, another deployment of the lab running) is 200 with an ephemeral Slack message saying what happened and by whom, read from the resource’s history (e.g. "This deployment was already confirmed by ann at 10:42 UTC."), and appends nothing; so is a click on a session or deployment that does not exist ("There is no deployment … on this gateway (any more)"). 400 names a malformed payload, an action with neither value, or an unknown action value. 409 only when the resource kept changing under the command (with Retry-After: retry).',
      implemented: true,
      params: [
        { name: 'X-Slack-Signature', in: 'header', required: true, schema: { type: 'string' } },
        { name: 'X-Slack-Request-Timestamp', in: 'header', required: true, schema: { type: 'string' } },
      ],
      body: ref('SlackInteraction'),
      bodyType: 'application/x-www-form-urlencoded',
      // Its key is looked at only once the signature is verified, and scoped to the Slack team and user.
      idempotent: true,
      errors: [400, 401, 409, 503],
      responses: {
        200: json(
          ref('SlackEphemeral'),
          'The click can no longer act (or its resource does not exist): an ephemeral Slack message saying what happened and by whom; nothing was appended',
        ),
        202: json(
          { oneOf: [ref('Session'), ref('Deployment')] },
          'Accepted: the view of the session or deployment the action changed',
        ),
      },
    },
  },
  '/api/audit/events': {
    get: {
      tag: 'audit',
      summary: 'The whole log in `$all` order, as stored',
      description:
        'Every event of every stream from `from_position` (inclusive, default 0), oldest first, exactly as stored: `data` not decoded, `metadata` with the event’s `hash` (SHA-256 of the previous event’s hash in its stream and the event’s canonical content; see GET /api/audit/verify). Page on with `cursor` = `next_cursor` (the next event’s place; it wins over `from_position`, so the query can be kept); `next_cursor` is null on the last page. A `from_position` past the end is an empty last page. 400 names `query.from_position`, `query.limit` or `query.cursor`, every bad one at once.',
      implemented: true,
      roles: AUDIT,
      params: [
        query('from_position', { type: 'integer', minimum: 0, default: 0 }, 'First `$all` position (inclusive)'),
        ...paging,
      ],
      responses: { 200: json(listOf('AuditEvent'), 'A page of events, oldest first') },
    },
  },
  '/api/audit/streams/{stream}': {
    get: {
      tag: 'audit',
      summary: 'One stream’s history, as stored',
      description:
        'The events of one stream from `from_revision` (inclusive, default 0), oldest first, in the same shape as GET /api/audit/events; page on with `cursor` = `next_cursor` (it wins over `from_revision`). 404 for a stream with no event in the log; a `from_revision` past the end of a stream that exists is an empty last page. 400 names `query.from_revision`, `query.limit` or `query.cursor`.',
      implemented: true,
      roles: AUDIT,
      params: [
        pathParam('stream', 'Stream name, e.g. `session-<session_id>`, `deployment-<deployment_id>`'),
        query('from_revision', { type: 'integer', minimum: 0, default: 0 }, 'First revision (inclusive)'),
        ...paging,
      ],
      errors: [404],
      responses: { 200: json(listOf('AuditEvent'), 'A page of the stream’s events, oldest first') },
    },
  },
  '/api/audit/verify': {
    get: {
      tag: 'audit',
      summary: 'Verify every stream’s hash chain',
      description:
        'Recomputes every stream’s hash chain from the log, a page at a time in `$all` order, and stops at the first event that breaks it: its stored hash does not match its content chained to its predecessor (it was edited), its revision skips (events before it were removed) or goes back, or it stands out of order. `first_bad.reason` says which in a sentence, e.g. "revision 3 follows 1: an event is missing", "hash mismatch: the event was edited after it was written …", "out of order: the event now at revision 3 was written as revision 1, before this one". `events_checked` counts the events read, up to and including the first bad one. The log is verified as it stood when the request arrived; each call reads all of it.',
      implemented: true,
      roles: AUDIT,
      responses: { 200: json(ref('Verification'), 'The verdict (200 whether the log is intact or not)') },
    },
  },
};

const toOperation = (method: string, path: string, op: Op) => {
  // Every request is measured before it is routed (`http.*` bounds): too many query parameters
  // are a 400, a long path or query a 414, too many header fields a 431.
  const errors = new Set<number>([...(op.errors ?? []), 400, 414, 431]);
  // Liveness alone is never rate limited; every other route is, by token or by address.
  if (path !== '/health') errors.add(429);
  if (op.roles) [401, 403, 503].forEach((status) => errors.add(status));
  if (op.body) [413, 415].forEach((status) => errors.add(status));
  if (op.idempotent) errors.add(422);
  if (op.ifMatch) errors.add(412);
  const parameters = [...(op.params ?? [])];
  if (op.idempotent)
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'A retry with the same key and body, from the same caller (token; for Slack interactions the team and user, once the signature is verified), within `idempotency.ttl` (default 24 h), returns the first response and appends nothing; another body is 422. A request that is not authenticated never records a key',
      schema: { type: 'string', maxLength: 255 },
    });
  if (op.ifMatch)
    parameters.push({
      name: 'If-Match',
      in: 'header',
      required: false,
      description: 'Expected revision, e.g. "3"; 412 on mismatch',
      schema: { type: 'string' },
    });
  return {
    operationId: `${method}${path.replace(/[{}]/g, '').replace(/[^a-zA-Z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    tags: [op.tag],
    summary: op.summary,
    description: [
      op.implemented ? '' : '**Not yet implemented** in this version of the gateway (answers 404 until it is).',
      op.description ?? '',
      op.roles ? `Roles: ${op.roles.join(', ')}.` : 'Public.',
    ]
      .filter((line) => line !== '')
      .join('\n\n'),
    'x-implemented': op.implemented,
    ...(op.roles ? { 'x-roles': op.roles, security: [{ bearer: [] }] } : { security: [] }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: op.bodyType === undefined || true,
            content: { [op.bodyType ?? 'application/json']: { schema: op.body } },
          },
        }
      : {}),
    // An operation's own words for a status stand over the general ones.
    responses: {
      ...Object.fromEntries([...errors].sort().map((status) => [String(status), problem(status)])),
      ...op.responses,
    },
  };
};

const webhook = (type: string, description: string) => ({
  post: {
    summary: `${type} webhook`,
    description: `${description}\n\nHeaders: \`Idempotency-Key: <event_id>\` (a redelivery carries the same id), \`X-Gateway-Timestamp: <unix seconds>\`, \`X-Gateway-Signature: v1=<hex HMAC-SHA256 of "v1:<timestamp>:<raw body>" with the webhook secret>\`. At least once, in event order per session, retried \`retry_attempts\` times with growing delay; a 2xx acknowledges; still failing → parked at GET /api/webhooks/failed. A parked webhook does not hold back the session’s later ones (its \`sequence\` shows the gap); it is retried every \`webhooks.parked_retry_interval\` seconds for \`webhooks.parked_retry_for\` seconds, and on request.`,
    parameters: [
      { name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string' } },
      { name: 'X-Gateway-Timestamp', in: 'header', required: true, schema: { type: 'string' } },
      {
        name: 'X-Gateway-Signature',
        in: 'header',
        required: true,
        schema: { type: 'string', pattern: '^v1=[0-9a-f]{64}$' },
      },
    ],
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: ref(webhookSchemaName(type)) },
      },
    },
    responses: { '200': { description: 'Any 2xx acknowledges' } },
  },
});

/** The contract's version, served in the document and by GET /health. */
export const API_VERSION = '1.1.0';

export const buildOpenApiDocument = (version = API_VERSION) => ({
  openapi: '3.1.0',
  info: {
    title: 'AI Dev Gateway',
    version,
    description:
      'The API Contract v1.1.0 between the gateway and its clients: the Slack backend (commands, webhooks), SSE subscribers and auditors. JSON bodies in snake_case; errors are RFC 9457 problem documents; commands answer 202 once their events are durably appended; `Idempotency-Key` on any POST; every view carries `revision` and an `ETag`, commands accept `If-Match`; lists take `limit` (default 50, max 500) and `cursor` and answer `{ items, next_cursor }`.',
  },
  servers: [{ url: '/' }],
  tags: ['service', 'routing', 'sessions', 'deployments', 'namespaces', 'webhooks', 'slack', 'audit'].map((name) => ({
    name,
  })),
  paths: Object.fromEntries(
    Object.entries(operations).map(([path, methods]) => [
      path,
      Object.fromEntries(Object.entries(methods).map(([method, op]) => [method, toOperation(method, path, op)])),
    ]),
  ),
  webhooks: {
    routing_suggestion: webhook('routing_suggestion', 'A route needs a person’s confirmation.'),
    progress: webhook('progress', 'The agent reports progress.'),
    question: webhook('question', 'The agent asks a question.'),
    agent_reply: webhook('agent_reply', 'The agent’s final text of a turn.'),
    deployment_confirmation_requested: webhook(
      'deployment_confirmation_requested',
      'A deployment plan waits for confirmation.',
    ),
    deployment_ready: webhook('deployment_ready', 'The lab is up; `data.url` is its address.'),
    test_results: webhook('test_results', 'Tests finished.'),
    deployment_failed: webhook('deployment_failed', 'A deployment failed.'),
    session_closed: webhook('session_closed', 'A session was closed.'),
    session_failed: webhook(
      'session_failed',
      'The session could not go on (e.g. its workspace could not be made); `data.error` says why. Sent instead of `session_closed` for a failure.',
    ),
    agent_error: webhook('agent_error', 'A turn of the agent failed: `data` has `message_id`, `error` and `message`.'),
  },
  components: {
    schemas: { ...schemas, ...webhookSchemas, ...sseSchemas },
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description:
          'Configured tokens, each with one role: operator (every command and read), viewer (reads and SSE), auditor (reads, SSE and /api/audit/*).',
      },
    },
  },
  security: [{ bearer: [] }],
});

/**
 * Whether `METHOD path` is an operation that takes an `Idempotency-Key`, as this document says:
 * the idempotency middleware applies to these and nothing else. Matched as the router matches,
 * case-insensitively and with an optional trailing slash.
 */
export const takesIdempotencyKey = (() => {
  const patterns = Object.entries(operations).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([, op]) => op.idempotent)
      .map(([method]) => ({
        method: method.toUpperCase(),
        path: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`, 'i'),
      })),
  );
  return (method: string, requestPath: string): boolean =>
    patterns.some((pattern) => pattern.method === method && pattern.path.test(requestPath));
})();

/** `METHOD path` of every operation, and whether it is built. */
export const operationList = (): { method: string; path: string; implemented: boolean }[] =>
  Object.entries(operations).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      implemented: op.implemented,
    })),
  );
