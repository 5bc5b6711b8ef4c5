import Router from '@koa/router';
import { docsRoutes } from './docs.js';
import type { GatewayMetrics } from './metrics.js';

/**
 * A dependency check for /ready: resolves with nothing when it is "ok", rejects with why it fails
 * ("error: …"), or resolves with the state of a dependency that answers but cannot do its work as
 * configured (e.g. "no model configured"), reported as it is and counted as degraded.
 */
export type ReadinessCheck = () => Promise<void | string>;

export interface ServiceRoutesOptions {
  readonly version: string;
  readonly metrics: GatewayMetrics;
  /** event_store always; opencode and kubernetes once later phases configure them. */
  readonly checks: Readonly<Record<string, ReadinessCheck | undefined>>;
  /**
   * Why the process cannot go on without a restart (a store that lost acknowledged records), or
   * undefined. No I/O: an orchestrator's liveness probe restarts the process when it answers.
   */
  readonly liveness?: () => Error | undefined;
  readonly openApiDocument: object;
  /** A check that takes longer than this counts as failed. */
  readonly checkTimeoutMs?: number;
}

const REQUIRED_CHECKS = ['event_store', 'opencode', 'kubernetes'] as const;
/**
 * Only these make /ready answer 503: without the event store the API cannot serve. The others
 * (OpenCode, the lab cluster, the disk reserve) show as `degraded` with 200, so a readiness
 * probe never takes the whole API out of its Service because a dependency of some work is down.
 */
const CRITICAL_CHECKS: ReadonlySet<string> = new Set(['event_store']);

/** The public routes: liveness, readiness, metrics, the contract and its rendering. */
export const serviceRoutes = (options: ServiceRoutesOptions): Router => {
  const router = new Router();
  const document = JSON.stringify(options.openApiDocument);
  router.get('/health', (ctx) => {
    const fatal = options.liveness?.();
    if (fatal) {
      ctx.status = 503;
      ctx.body = { status: 'failing', version: options.version, reason: fatal.message };
      return;
    }
    ctx.body = { status: 'ok', version: options.version };
  });
  router.get('/ready', async (ctx) => {
    const names = [...new Set([...REQUIRED_CHECKS, ...Object.keys(options.checks)])];
    const results = await Promise.all(
      names.map(async (name) => [name, await runCheck(options.checks[name], options.checkTimeoutMs ?? 2000)] as const),
    );
    const checks = Object.fromEntries(results);
    const failed = results.filter(([, result]) => result !== 'ok' && result !== 'not configured').map(([name]) => name);
    ctx.status = failed.some((name) => CRITICAL_CHECKS.has(name)) ? 503 : 200;
    ctx.body = { status: failed.length === 0 ? 'ready' : 'degraded', checks };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = options.metrics.registry.contentType;
    ctx.body = await options.metrics.registry.metrics();
  });
  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = document;
  });
  docsRoutes(router);
  return router;
};

const runCheck = async (check: ReadinessCheck | undefined, timeoutMs: number): Promise<string> => {
  if (!check) return 'not configured';
  let timer: NodeJS.Timeout | undefined;
  try {
    const state = await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return state ?? 'ok';
  } catch (error) {
    return `error: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
};
