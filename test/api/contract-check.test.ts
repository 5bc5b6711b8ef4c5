import test from 'ava';
import { responseViolations, sseFrameViolations, webhookViolations } from '../support/contract.js';

/**
 * The check every HTTP test runs on every response (test/support/contract-hook.ts), on every
 * webhook mock Slack receives and on every SSE frame: shown here to catch what it must catch,
 * so a test suite that passes means the responses match the served document.
 */

const observed = (method: string, path: string, status: number, body: unknown, extra: Record<string, string> = {}) => ({
  method,
  path,
  status,
  headers: new Headers({ 'content-type': 'application/json; charset=utf-8', ...extra }),
  body: JSON.stringify(body),
});

test('a response as documented passes; a wrong type, a missing field, an undocumented status or operation does not', (t) => {
  t.deepEqual(responseViolations(observed('GET', '/health', 200, { status: 'ok', version: '1.1.0' })), []);
  t.deepEqual(responseViolations(observed('GET', '/health', 200, { status: 'ok', version: 1 })), [
    'body /version must be string',
  ]);
  t.true(responseViolations(observed('GET', '/health', 200, { status: 'ok' }))[0]!.includes('version'));
  t.deepEqual(responseViolations(observed('GET', '/health', 418, { status: 'ok', version: '1.1.0' })), [
    'status 418 is not documented for GET /health',
  ]);
  t.deepEqual(responseViolations(observed('GET', '/api/nothing-here', 200, {})), [
    'no operation documents GET /api/nothing-here',
  ]);
  const asText = { ...observed('GET', '/health', 200, {}), headers: new Headers({ 'content-type': 'text/plain' }) };
  t.regex(responseViolations(asText)[0]!, /content type "text\/plain" is not one of application\/json/);
});

test('a session view whose repo ref is a number, or without requested_by, departs from the document', (t) => {
  const view = {
    session_id: 's-1',
    category: 'platform',
    project: 'billing',
    repos: [
      {
        name: 'api',
        url: null,
        ref: null,
        worktree_path: null,
        branch: null,
        base_commit: null,
        pushed: null,
        push_error: null,
      },
    ],
    task: { title: 'Fix the footer', description: '' },
    status: 'initializing',
    agent_status: 'idle',
    error: null,
    requested_by: { user: 'U1', channel: 'C1', thread_ts: null },
    route: { suggested: null, confidence: null, reason: null, confirmed: null, confirmed_by: null },
    workspace_path: null,
    pending_question: null,
    deployments: [],
    created_at: '2030-01-01T10:00:00.000Z',
    updated_at: '2030-01-01T10:00:00.000Z',
    revision: 0,
  };
  const get = (body: unknown) => observed('GET', '/api/sessions/s-1', 200, body, { etag: '"0"' });
  t.deepEqual(responseViolations(get(view)), []);
  t.deepEqual(responseViolations(get({ ...view, repos: [{ ...view.repos[0], ref: 3 }] })), [
    'body /repos/0/ref must be string',
    'body /repos/0/ref must be null',
    'body /repos/0/ref must match exactly one schema in oneOf',
  ]);
  const { requested_by: _, ...withoutRequestedBy } = view;
  t.regex(responseViolations(get(withoutRequestedBy)).join('\n'), /requested_by/);
});

const signedHeaders = {
  'idempotency-key': 'ev-1',
  'x-gateway-timestamp': '1893492000',
  'x-gateway-signature': `v1=${'a'.repeat(64)}`,
};
const envelope = {
  event_id: 'ev-1',
  occurred_at: '2030-01-01T10:00:00.000Z',
  session_id: 's-1',
  sequence: 1,
  requested_by: null,
};

test('a webhook is held to the schema of its event_type: an extra or missing field, an unknown type, a bad header fail', (t) => {
  const reply = { ...envelope, event_type: 'agent_reply', data: { message_id: 'm-1', text: 'Done.' } };
  t.deepEqual(webhookViolations(signedHeaders, JSON.stringify(reply)), []);
  t.true(
    webhookViolations(signedHeaders, JSON.stringify({ ...reply, data: { ...reply.data, secret: 'x' } })).some((line) =>
      line.includes('must NOT have additional properties'),
    ),
  );
  t.true(
    webhookViolations(signedHeaders, JSON.stringify({ ...reply, data: { message_id: 'm-1' } })).some((line) =>
      line.includes("must have required property 'text'"),
    ),
  );
  t.deepEqual(webhookViolations(signedHeaders, JSON.stringify({ ...reply, event_type: 'gossip' })), [
    'event_type "gossip" is not among the document\'s webhooks',
  ]);
  t.true(
    webhookViolations({ ...signedHeaders, 'x-gateway-signature': 'v0=abc' }, JSON.stringify(reply)).some((line) =>
      line.startsWith('header X-Gateway-Signature'),
    ),
  );
  const ready = {
    ...envelope,
    event_type: 'deployment_ready',
    data: { url: 'https://billing-lab.example.com', repos: [] },
  };
  t.true(
    webhookViolations(signedHeaders, JSON.stringify(ready)).some((line) => line.includes('deployment_id')),
    'a deployment webhook names its deployment',
  );
  t.deepEqual(webhookViolations(signedHeaders, JSON.stringify({ ...ready, deployment_id: 'd-1' })), []);
});

test('an SSE frame is held to the schema of its event type on its stream', (t) => {
  const progress = '/api/deployments/d-1/progress';
  t.deepEqual(sseFrameViolations(progress, 'progress', JSON.stringify({ step: 'rbac', message: 'Applying' })), []);
  t.deepEqual(sseFrameViolations(progress, 'progress', JSON.stringify({ step: 'dance', message: 'x' })), [
    'event progress: /step must be equal to one of the allowed values',
  ]);
  t.deepEqual(sseFrameViolations(progress, 'agent_output', '{}'), [
    'event type "agent_output" is not documented for GET /api/deployments/{deployment_id}/progress',
  ]);
  const events = '/api/sessions/s-1/events';
  t.deepEqual(sseFrameViolations(events, 'status', JSON.stringify({ status: 'active', agent_status: 'idle' })), []);
  t.deepEqual(sseFrameViolations(events, 'status', 'not json'), ['event status: data that is not JSON']);
});
