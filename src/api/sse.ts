import { Transform } from 'node:stream';
import type { Context, Middleware } from 'koa';
import compose from 'koa-compose';
import koaSse, { type SseTransform } from 'koa-sse-stream';
import type { DomainEvent } from '../events/domain-event.js';
import type { StoredEvent } from '../events/stored-event.js';
import { ProblemError } from './problem.js';
import { stateOf } from './state.js';

export interface SseMessage {
  readonly event: string;
  readonly data: unknown;
}

export interface SseSource<Event extends DomainEvent = DomainEvent> extends AsyncIterable<StoredEvent<Event>> {
  stop(): Promise<void>;
}

export interface SseRoute<Event extends DomainEvent = DomainEvent> {
  /** Opens the subscription after the given revision (exclusive), or from the start. 404 by throwing. */
  readonly subscribe: (ctx: Context, afterRevision: number | undefined) => Promise<SseSource<Event>> | SseSource<Event>;
  /** What a client sees of an event (one or more frames, all with its revision as id); undefined skips it. */
  readonly toMessage: (event: StoredEvent<Event>) => SseMessage | readonly SseMessage[] | undefined;
  /** After sending this event the server ends the stream (a deployment's `complete`). */
  readonly isTerminal?: (event: StoredEvent<Event>) => boolean;
}

const RETRY_MS = 2000;
/** setInterval's largest delay; koa-sse-stream's own ping must never fire (it console.logs). */
const NEVER = 2_147_483_647;

/**
 * The contract's SSE rules over koa-sse-stream: `retry: 2000` first, `id:` = stream revision,
 * resume after `Last-Event-ID` or `?from=`, `: keepalive` comments, the end of the stream after a
 * terminal event, and clean-up the moment a client goes away.
 *
 * koa-sse-stream is wrapped because of three measured faults (see LIBRARIES.md and the README):
 * it writes `id: 0` as nothing (a falsy check), so ids are passed as strings; its ping logs to
 * the console, so its ping is disabled and ours sends comments; and its ping timer is neither
 * cleared nor unref'd, so it is captured, unref'd and cleared by `close()`.
 */
export class SseHub {
  private readonly open = new Set<() => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly library: Middleware;

  constructor(private readonly options: { keepaliveMs?: number; maxClients?: number } = {}) {
    const original = globalThis.setInterval;
    const captured: NodeJS.Timeout[] = this.timers;
    globalThis.setInterval = (...args: Parameters<typeof setInterval>) => {
      const timer = original(...args);
      captured.push(timer);
      return timer;
    };
    try {
      this.library = koaSse({ pingInterval: NEVER, maxClients: options.maxClients ?? 10_000 });
    } finally {
      globalThis.setInterval = original;
    }
    for (const timer of this.timers) timer.unref();
  }

  get openStreams(): number {
    return this.open.size;
  }

  /** The route's middleware: validates the resume point before any SSE header is sent. */
  route<Event extends DomainEvent>(route: SseRoute<Event>): Middleware {
    return compose([
      async (ctx: Context, next: () => Promise<unknown>) => {
        ctx.state['sseAfter'] = resumePoint(ctx);
        ctx.state['sseSource'] = await route.subscribe(ctx, ctx.state['sseAfter'] as number | undefined);
        await next();
      },
      this.library,
      async (ctx: Context) => {
        this.pump(ctx, ctx.state['sseSource'] as SseSource<Event>, route);
      },
    ]) as Middleware;
  }

  /** Ends every open stream (graceful shutdown) and the library's timer. */
  close(): void {
    for (const end of [...this.open]) end();
    for (const timer of this.timers) clearInterval(timer);
  }

  private pump<Event extends DomainEvent>(ctx: Context, source: SseSource<Event>, route: SseRoute<Event>): void {
    const sse = (ctx as unknown as { sse: SseTransform }).sse;
    const logger = stateOf(ctx).logger;
    sse.push(`retry: ${RETRY_MS}\n\n`);
    const keepalive = setInterval(() => sse.send(': keepalive'), this.options.keepaliveMs ?? 15_000);
    keepalive.unref();
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(keepalive);
      this.open.delete(end);
      void source.stop();
      if (!sse.ended) {
        sse.ended = true;
        (Transform.prototype.end as (this: Transform) => void).call(sse);
      }
    };
    this.open.add(end);
    // Node fires the request's 'close' when its body is read; the response's when the client leaves.
    ctx.res.on('close', end);
    void (async () => {
      try {
        for await (const stored of source) {
          if (ended) break;
          const frame = frameOf(route, stored);
          if (frame) sse.push(frame);
          if (route.isTerminal?.(stored)) break;
        }
      } catch (error) {
        logger?.error({ err: error }, 'SSE subscription failed');
      } finally {
        end();
      }
    })();
  }
}

/**
 * An event's SSE frame, formatted once however many clients a stream has: the store hands every
 * subscriber of a stream the same decoded event, and a thousand subscribers should cost one
 * `toMessage` and one `JSON.stringify`, not a thousand. JSON has no raw newline, so `data:` is one line.
 */
const frames = new WeakMap<object, WeakMap<object, string | null>>();
const frameOf = <Event extends DomainEvent>(route: SseRoute<Event>, stored: StoredEvent<Event>): string | null => {
  let byEvent = frames.get(route);
  if (!byEvent) frames.set(route, (byEvent = new WeakMap()));
  let frame = byEvent.get(stored);
  if (frame === undefined) {
    const messages = route.toMessage(stored);
    frame =
      messages === undefined
        ? null
        : [messages]
            .flat()
            .map(
              (message) => `event: ${message.event}\nid: ${stored.revision}\ndata: ${JSON.stringify(message.data)}\n\n`,
            )
            .join('') || null;
    byEvent.set(stored, frame);
  }
  return frame;
};

/** `Last-Event-ID` (what a reconnecting EventSource sends) wins over `?from=`. */
const resumePoint = (ctx: Context): number | undefined => {
  const header = ctx.get('Last-Event-ID');
  const query = ctx.query['from'];
  const [raw, path] = header !== '' ? [header, 'header.Last-Event-ID'] : [query, 'query.from'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw.trim())) {
    throw new ProblemError(400, 'the resume point must be an event revision (a non-negative integer)', {
      errors: [{ path, message: 'expected a non-negative integer revision' }],
    });
  }
  return Number(raw.trim());
};
