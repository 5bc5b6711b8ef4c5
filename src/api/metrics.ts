import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Middleware } from 'koa';
import type { EventStore } from '../eventstore/port.js';
import { stateOf } from './state.js';

/** The gateway's Prometheus metrics, in a registry of their own (no global state between apps). */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly eventsAppended = new Counter({
    name: 'gateway_events_appended_total',
    help: 'Events durably appended to the event store',
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'gateway_auth_failures_total',
    help: 'Requests refused for missing or bad credentials (401): a bearer token, or a Slack signature',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  readonly reactionFailures = new Counter({
    name: 'gateway_reaction_failures_total',
    help: 'Reactions of a process manager that failed for good (recorded as ReactionFailed)',
    labelNames: ['process_manager'] as const,
    registers: [this.registry],
  });
  readonly subscriptionLag = new Gauge({
    name: 'gateway_subscription_lag_events',
    help: 'Events in $all not yet processed by a subscriber (process manager or projection)',
    labelNames: ['subscriber'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
  }

  /** Reports the embedded log's free space, read at each scrape; a store without a local disk has no such gauge. */
  watchFreeBytes(measure: () => Promise<number>): void {
    new Gauge({
      name: 'gateway_event_store_free_bytes',
      help: "Bytes free on the embedded event log's file system, read at each scrape",
      registers: [this.registry],
      async collect() {
        this.set(await measure());
      },
    });
  }

  /** For the process-manager runtime's `onReaction` callback: counts what failed for good. */
  readonly reportReaction = (processManager: string, _key: string, outcome: string): void => {
    if (outcome === 'failed') this.reactionFailures.inc({ process_manager: processManager });
  };

  /** For the process-manager and projection runtimes' `onLag` callbacks. */
  readonly reportLag = (subscriber: string, lag: number): void => {
    this.subscriptionLag.set({ subscriber }, lag);
  };

  /** Times each request under its route pattern, never its raw path (ids would explode the label set). */
  readonly middleware: Middleware = async (ctx, next) => {
    const end = this.httpDuration.startTimer();
    try {
      await next();
    } finally {
      const route =
        stateOf(ctx).routePattern ??
        (ctx.status === 404 ? 'unmatched' : ctx.path.startsWith('/docs/') ? '/docs/*' : 'unmatched');
      end({ method: ctx.method, route, status: String(ctx.status) });
      // A refused request leaves this count and its access-log line, nothing else.
      if (ctx.status === 401) this.authFailures.inc({ route });
    }
  };
}

/** Counts appended events as the store acknowledges them; everything else passes through. */
export const instrumentEventStore = (store: EventStore, metrics: GatewayMetrics): EventStore => ({
  appendToStream: async (stream, events, options) => {
    const result = await store.appendToStream(stream, events, options);
    metrics.eventsAppended.inc(events.length);
    return result;
  },
  readStream: (stream, options) => store.readStream(stream, options),
  readAll: (options) => store.readAll(options),
  subscribeToStream: (stream, options) => store.subscribeToStream(stream, options),
  subscribeToAll: (options) => store.subscribeToAll(options),
  checkHealth: () => store.checkHealth(),
  fatalError: () => store.fatalError(),
  close: () => store.close(),
});
