import Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from 'pino';
import { GatewayMetrics } from './metrics.js';
import { authorize, identify, type Authenticator } from './middleware/auth.js';
import { corsAllowlist } from './middleware/cors.js';
import { jsonBody } from './middleware/json-body.js';
import { problemDocuments } from './middleware/problems.js';
import { rateLimits, type RateLimits } from './middleware/rate-limit.js';
import { boundedRequests, type RequestBounds } from './middleware/request-bounds.js';
import { requestIds } from './middleware/request-id.js';
import { securityHeaders } from './middleware/security-headers.js';
import { serviceRoutes, type ReadinessCheck } from './service-routes.js';
import { stateOf } from './state.js';

/** The served OpenAPI document: built at the composition level, where every capability is known. */
interface OpenApiDocument {
  readonly info: { readonly version: string };
}

export interface AppDependencies {
  readonly openApiDocument: OpenApiDocument;
  readonly logger: Logger;
  readonly authenticate: Authenticator;
  readonly metrics: GatewayMetrics;
  readonly checks: Readonly<Record<string, ReadinessCheck | undefined>>;
  /** For GET /health: what only a restart can mend, or undefined. */
  readonly liveness?: () => Error | undefined;
  readonly corsOrigins: readonly string[];
  readonly bodyLimitBytes: number;
  /** Requests a minute per token and per address without one, on every route; unlimited when absent. */
  readonly rateLimits?: RateLimits;
  /** What a request may hold before anything parses it (defaults: DEFAULT_BOUNDS). */
  readonly bounds?: Partial<RequestBounds & { readonly maxJsonDepth: number }>;
  /** Capability routers (sessions, deployments, ...) mounted after the service routes. */
  readonly routers?: readonly Router[];
  /** Middleware between body parsing and the routers, e.g. Idempotency-Key. */
  readonly commandMiddleware?: readonly Koa.Middleware[];
  /** Routes whose bodies are form-encoded rather than JSON; default the contract's Slack interactions. */
  readonly formPaths?: readonly string[];
}

const DEFAULT_BOUNDS: RequestBounds & { readonly maxJsonDepth: number } = {
  maxPathLength: 2048,
  maxQueryLength: 4096,
  maxQueryParams: 64,
  maxHeaders: 100,
  maxJsonDepth: 32,
};

/**
 * The HTTP edge. Order matters: ids and logging first, so every later failure is logged with
 * them; problems wrap everything below, so any error becomes one problem document; the request
 * measured before anything parses it; CORS before auth, so preflights need no token; the caller
 * identified, then rate-limited (by token, or by address), then authorized; all before the
 * body is read.
 */
export const createApp = (deps: AppDependencies): Koa => {
  const app = new Koa({ proxy: false });
  app.silent = true; // errors are logged once, by the problems middleware
  const routers = [
    serviceRoutes({
      version: deps.openApiDocument.info.version,
      metrics: deps.metrics,
      checks: deps.checks,
      liveness: deps.liveness,
      openApiDocument: deps.openApiDocument,
    }),
    ...(deps.routers ?? []),
  ];

  app.use(requestIds(deps.logger));
  app.use(accessLog);
  app.use(deps.metrics.middleware);
  app.use(securityHeaders());
  app.use(problemDocuments());
  const bounds = { ...DEFAULT_BOUNDS, ...deps.bounds };
  app.use(boundedRequests(bounds));
  app.use(corsAllowlist(deps.corsOrigins));
  app.use(identify(deps.authenticate));
  if (deps.rateLimits !== undefined) app.use(rateLimits(deps.rateLimits));
  app.use(authorize());
  app.use(jsonBody(deps.bodyLimitBytes, deps.formPaths ?? ['/api/slack/interactions'], bounds.maxJsonDepth));
  for (const middleware of deps.commandMiddleware ?? []) app.use(middleware);
  app.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      const matched: unknown = ctx['_matchedRoute'];
      if (typeof matched === 'string') stateOf(ctx).routePattern = matched;
    }
  });
  for (const router of routers) {
    app.use(router.routes());
    // Not thrown: the router sets Allow only when it answers 405/501 itself; problems fills the body.
    app.use(router.allowedMethods());
  }
  return app;
};

/** One structured line per request; never headers, so never a token. */
const accessLog: Koa.Middleware = async (ctx, next) => {
  const started = process.hrtime.bigint();
  try {
    await next();
  } finally {
    const state = stateOf(ctx);
    const line = {
      method: ctx.method,
      path: ctx.path,
      route: state.routePattern,
      status: ctx.status,
      duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
      actor: state.principal?.name,
    };
    if (ctx.status >= 500) state.logger.error(line, 'request');
    else state.logger.info(line, 'request');
  }
};
