import * as E from 'fp-ts/lib/Either.js';
import type { RecordedEvent } from '../eventstore/port.js';
import { formatValidationProblems, reportValidationErrors } from '../events/validation-report.js';
import { AuditPageCodec, fromAuditEvent, type AuditPage } from './audit-event.js';
import type { AuditSource } from './source.js';

/** The audit API answers at most this many events a page. */
const API_MAX_LIMIT = 500;
/** Rate-limited requests are retried this many times, waiting what Retry-After says. */
const MAX_RETRIES = 10;

/** The gateway refused or failed a request: the CLI prints the message and exits. */
export class GatewayRequestError extends Error {
  override readonly name = 'GatewayRequestError';
}

export interface HttpSourceOptions {
  readonly url: string;
  /** An auditor's (or operator's) bearer token. */
  readonly token: string;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Reads a running gateway's history through its audit API, so the CLI works while the gateway
 * holds the embedded log's lock, and against EventStoreDB without a connection of its own.
 */
export const httpSource = (options: HttpSourceOptions): AuditSource => {
  const base = options.url.replace(/\/+$/, '');
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  const getPage = async (path: string, query: Record<string, string | number>): Promise<AuditPage | undefined> => {
    const url = `${base}${path}?${new URLSearchParams(Object.entries(query).map(([key, value]): [string, string] => [key, String(value)])).toString()}`;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, {
          headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
        });
      } catch (error) {
        throw new GatewayRequestError(
          `cannot reach the gateway at ${base}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
        );
      }
      // A long export or verification meets the per-token rate limit: wait as told and go on.
      if (response.status === 429 && attempt < MAX_RETRIES) {
        await response.body?.cancel();
        await sleep(Math.max(1, Number(response.headers.get('retry-after')) || 1) * 1000);
        continue;
      }
      const body: unknown = await response.json().catch(() => undefined);
      if (!response.ok) {
        const detail =
          typeof body === 'object' && body !== null && typeof (body as { detail?: unknown }).detail === 'string'
            ? (body as { detail: string }).detail
            : response.statusText;
        // An unknown stream reads as empty, as the store's readStream does; a gateway without the audit API does not.
        if (response.status === 404 && path.startsWith('/api/audit/streams/') && detail.startsWith('no stream '))
          return undefined;
        throw new GatewayRequestError(`the gateway answered ${response.status} to GET ${path}: ${detail}`);
      }
      const decoded = AuditPageCodec.decode(body);
      if (E.isLeft(decoded))
        throw new GatewayRequestError(
          `the gateway's answer to GET ${path} is not an audit page: ${formatValidationProblems(reportValidationErrors(decoded.left)).join('; ')}`,
        );
      return decoded.right;
    }
  };

  /** Up to `maxCount` events, following the API's pages (at most 500 each) by their `next_cursor`. */
  const collect = async (path: string, start: Record<string, number>, maxCount: number): Promise<RecordedEvent[]> => {
    const events: RecordedEvent[] = [];
    let query: Record<string, string | number> = start;
    while (events.length < maxCount) {
      const page = await getPage(path, { ...query, limit: Math.min(API_MAX_LIMIT, maxCount - events.length) });
      if (!page) return events;
      events.push(...page.items.map(fromAuditEvent));
      if (page.next_cursor === null || page.items.length === 0) return events;
      query = { cursor: page.next_cursor };
    }
    return events;
  };

  return {
    readAll: (fromPosition, maxCount) => collect('/api/audit/events', { from_position: fromPosition }, maxCount),
    readStream: (stream, fromRevision, maxCount) =>
      collect(`/api/audit/streams/${encodeURIComponent(stream)}`, { from_revision: fromRevision }, maxCount),
    // The API has no cheap way to ask for the head; progress counts events instead.
    headPosition: async () => undefined,
    close: async () => undefined,
  };
};
