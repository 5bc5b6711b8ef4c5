import type { ExecutionContext } from 'ava';
import pino from 'pino';
import { buildOpenApiDocument } from '../../src/openapi/document.js';
import { createApp } from '../../src/api/app.js';
import { GatewayMetrics } from '../../src/api/metrics.js';
import { auditRoutes } from '../../src/audit/routes.js';
import { authenticate, sha256Hex } from '../../src/config/tokens.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { serve } from '../support/http.js';
import { AUDITOR, OPERATOR, VIEWER } from './real-log.js';

const TOKENS = [
  { name: 'slack', role: 'operator' as const, sha256: sha256Hex(OPERATOR) },
  { name: 'ann', role: 'auditor' as const, sha256: sha256Hex(AUDITOR) },
  { name: 'grafana', role: 'viewer' as const, sha256: sha256Hex(VIEWER) },
];

/**
 * The project's own app (auth, problems, paging middleware) with only the audit router, over
 * `store`: how the gateway serves these routes, on a log the test chose (a tampered copy too).
 */
export const serveAudit = async (
  t: ExecutionContext,
  store: EventStore,
): Promise<{ url: string; get: (path: string, token?: string) => Promise<Response> }> => {
  const app = createApp({
    openApiDocument: buildOpenApiDocument(),
    logger: pino({ level: 'silent' }),
    authenticate: (token) => authenticate(TOKENS, token),
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    checks: {},
    corsOrigins: [],
    bodyLimitBytes: 1024 * 1024,
    routers: [auditRoutes({ store })],
  });
  const { url } = await serve(t, app);
  return {
    url,
    get: (path, token = AUDITOR) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } }),
  };
};
