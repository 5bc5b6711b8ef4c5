import test from 'ava';
import { Validator } from '@seriousme/openapi-schema-validator';
import { API_VERSION, buildOpenApiDocument, operationList } from '../../src/openapi/document.js';
import { startTestGateway } from '../support/test-gateway.js';

/** Every operation of API Contract v1.1.0, copied from the contract's text. */
const CONTRACT = [
  'GET /health',
  'GET /ready',
  'GET /metrics',
  'GET /docs',
  'GET /openapi.json',
  'POST /api/routing/analyze',
  'POST /api/sessions',
  'GET /api/sessions',
  'GET /api/sessions/{session_id}',
  'POST /api/sessions/{session_id}/route',
  'POST /api/sessions/{session_id}/messages',
  'GET /api/sessions/{session_id}/messages',
  'POST /api/sessions/{session_id}/questions/{question_id}/answer',
  'POST /api/sessions/{session_id}/pause',
  'POST /api/sessions/{session_id}/resume',
  'POST /api/sessions/{session_id}/close',
  'GET /api/sessions/{session_id}/events',
  'POST /api/deployments',
  'POST /api/deployments/{deployment_id}/confirm',
  'POST /api/deployments/{deployment_id}/reject',
  'GET /api/deployments/{deployment_id}',
  'GET /api/deployments',
  'GET /api/deployments/{deployment_id}/tests',
  'POST /api/deployments/{deployment_id}/tests/rerun',
  'GET /api/deployments/{deployment_id}/progress',
  'GET /api/namespaces',
  'DELETE /api/namespaces/{name}',
  'GET /api/webhooks/failed',
  'POST /api/webhooks/failed/{event_id}/retry',
  'POST /api/slack/interactions',
  'GET /api/audit/events',
  'GET /api/audit/streams/{stream}',
  'GET /api/audit/verify',
];

const WEBHOOK_TYPES = [
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
];

test('the document is valid OpenAPI 3.1', async (t) => {
  const validator = new Validator();
  const result = await validator.validate(buildOpenApiDocument(API_VERSION));
  t.true(result.valid, JSON.stringify(result.errors, null, 2));
  t.is(validator.version, '3.1');
});

/** What the gateway serves beyond the contract, documented too: the labs' bundles, the rendered document's files. */
const BEYOND_CONTRACT = ['GET /labs/bundles/{file}', 'GET /docs/{asset}'];

test('the document has exactly the contract’s operations (and the documented extras) and webhooks', (t) => {
  t.deepEqual(
    operationList()
      .map(({ method, path }) => `${method} ${path}`)
      .sort(),
    [...CONTRACT, ...BEYOND_CONTRACT].sort(),
  );
  const document = buildOpenApiDocument(API_VERSION) as {
    webhooks: Record<string, unknown>;
    info: { version: string };
  };
  t.deepEqual(Object.keys(document.webhooks).sort(), [...WEBHOOK_TYPES].sort());
  t.is(document.info.version, '1.1.0');
});

test('every protected operation documents 401, 403 and its roles; every command with a body documents 400, 413 and 415', (t) => {
  const document = buildOpenApiDocument(API_VERSION) as {
    paths: Record<
      string,
      Record<
        string,
        { security: unknown[]; responses: Record<string, unknown>; requestBody?: unknown; 'x-roles'?: string[] }
      >
    >;
  };
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const name = `${method.toUpperCase()} ${path}`;
      if (path.startsWith('/api/') && path !== '/api/slack/interactions') {
        t.truthy(operation['x-roles'], `${name} names its roles`);
        for (const status of ['401', '403']) t.truthy(operation.responses[status], `${name} documents ${status}`);
      }
      if (operation.requestBody)
        for (const status of ['400', '413', '415'])
          t.truthy(operation.responses[status], `${name} documents ${status}`);
    }
  }
});

test('what the document marks implemented is routed in the gateway, and what it marks not implemented answers 404', async (t) => {
  const gateway = await startTestGateway(t, { tokens: 'slack:operator:operator-token-0123456789' });
  for (const { method, path, implemented } of operationList()) {
    const concrete = path.replace(/\{[^}]+\}/g, 'x1');
    const form = path === '/api/slack/interactions';
    const response = await fetch(`${gateway.url}${concrete}`, {
      method,
      headers: {
        authorization: 'Bearer operator-token-0123456789',
        ...(method === 'POST'
          ? { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' }
          : {}),
      },
      ...(method === 'POST' ? { body: form ? 'payload=%7B%7D' : '{}' } : {}),
    });
    const text = await response.text();
    // An implemented operation may answer 404 for the unknown id x1, but with its own words, not "no resource".
    if (implemented)
      t.false(response.status === 404 && text.includes('no resource at'), `${method} ${path} is implemented`);
    else {
      t.is(response.status, 404, `${method} ${path} is not implemented yet`);
      t.true(text.includes('no resource at'), `${method} ${path} answers the router's 404`);
    }
  }
});
