import type { RecordedEvent } from '../eventstore/port.js';
import { GENESIS_HASH } from '../events/hash-chain.js';
import { wasRedacted } from './audit-event.js';
import { hashAt, metadataOf } from './chain.js';
import { eventsAre, explainMismatch } from './diagnose.js';
import { pagesOf, type AuditSource } from './source.js';

/** The contract's verdict (GET /api/audit/verify, `gateway verify`). */
export interface Verification {
  readonly ok: boolean;
  /** Events read and checked; when not ok, up to and including the first bad one (checking stops there). */
  readonly events_checked: number;
  readonly first_bad: { readonly stream: string; readonly revision: number; readonly reason: string } | null;
}

export interface VerifyOptions {
  readonly pageSize?: number;
  /** After each page: events checked so far and the last position read. */
  readonly onProgress?: (checked: number, position: number) => void;
}

interface StreamHead {
  readonly revision: number;
  readonly hash: string;
}

/**
 * Recomputes every stream's hash chain from the log, in `$all` order, one page at a time: only
 * the last revision and hash of each stream are kept, so a log of millions of events is never
 * held whole. Stops at the first event that does not chain (log order), and says why.
 * The log is verified as it stood when verification began; later appends are left for the next run.
 */
export const verifyLog = async (source: AuditSource, options: VerifyOptions = {}): Promise<Verification> => {
  const heads = new Map<string, StreamHead>();
  let checked = 0;
  let lastPosition = -1;
  const pageSize = options.pageSize !== undefined ? { pageSize: options.pageSize } : {};
  for await (const page of pagesOf(source, pageSize)) {
    for (const event of page) {
      checked++;
      const reason = await check(source, event, heads.get(event.stream), lastPosition);
      if (reason !== undefined)
        return {
          ok: false,
          events_checked: checked,
          first_bad: { stream: event.stream, revision: event.revision, reason },
        };
      heads.set(event.stream, { revision: event.revision, hash: metadataOf(event)!.hash });
      lastPosition = event.position;
    }
    options.onProgress?.(checked, lastPosition);
  }
  return { ok: true, events_checked: checked, first_bad: null };
};

/** Why `event` breaks the log, or undefined when it chains to its stream's head. */
const check = async (
  source: AuditSource,
  event: RecordedEvent,
  head: StreamHead | undefined,
  lastPosition: number,
): Promise<string | undefined> => {
  if (event.position <= lastPosition)
    return `position ${event.position} follows ${lastPosition}: the log is out of order`;
  const expected = head ? head.revision + 1 : 0;
  // The embedded log numbers revisions itself, so gaps show up as hash mismatches below; a store
  // that keeps revisions (EventStoreDB, or a gateway's API) shows them here.
  if (event.revision > expected) {
    const missing = event.revision - expected;
    return head
      ? `revision ${event.revision} follows ${head.revision}: ${eventsAre(missing)} missing`
      : `revision ${event.revision} is the first of its stream: ${eventsAre(missing)} missing before it`;
  }
  if (event.revision < expected)
    return `revision ${event.revision} follows ${head!.revision}: the stream is out of order`;
  const metadata = metadataOf(event);
  if (!metadata)
    return 'the event carries no valid metadata (actor, correlation_id, causation_id, recorded_at and hash): it was not written by the gateway, or was edited';
  const previousHash = head?.hash ?? GENESIS_HASH;
  // Shown by a gateway with credentials removed: its own hash cannot be recomputed here (the gateway's own verification reads it raw); the chain goes on from the hash it carries.
  if (wasRedacted(event)) return undefined;
  if (hashAt(previousHash, event, metadata, event.revision) === metadata.hash) return undefined;
  return explainMismatch(source, event, previousHash);
};
