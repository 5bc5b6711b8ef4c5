import * as t from 'io-ts';
import type { JsonObject, RecordedEvent } from '../eventstore/port.js';
import { redactUrlCredentials } from '../shared/url-credentials.js';

/**
 * One event as auditors see it (GET /api/audit/events, /api/audit/streams/{stream}, `gateway
 * export`): the stored record as it is, not decoded by the registry, so what is shown is what is
 * hashed, and an event of a type this version no longer knows is still shown. `metadata.hash` is
 * there too, so an auditor can recompute the chain with their own tools.
 */
export interface AuditEvent {
  readonly position: number;
  readonly stream: string;
  readonly revision: number;
  readonly event_id: string;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: {
    readonly actor: string | null;
    readonly correlation_id: string | null;
    readonly causation_id: string | null;
    readonly recorded_at: string | null;
    readonly hash: string | null;
  };
  /**
   * Where `data` differs from what was stored and hashed: credentials in URLs (`data.repos[0].url`)
   * are never shown, so such an event's hash can only be checked where the log is read raw
   * (GET /api/audit/verify, `gateway verify` on the store itself). Absent when nothing was removed.
   */
  readonly redacted?: readonly string[];
}

/** Metadata fields are shown as null when missing or not strings: an auditor must see a damaged record, not a 500. */
const text = (metadata: JsonObject, key: string): string | null => {
  const value = metadata[key];
  return typeof value === 'string' ? value : null;
};

/** The one place event data is shown to auditors (the API, `gateway export`, `gateway replay`): credentials in URLs removed. */
export const shownData = (data: JsonObject): { readonly data: JsonObject; readonly redacted: readonly string[] } => {
  const { value, paths } = redactUrlCredentials(data);
  return { data: value, redacted: paths.map((path) => `data.${path}`) };
};

export const toAuditEvent = (event: RecordedEvent): AuditEvent => {
  const shown = shownData(event.data);
  return {
    position: event.position,
    stream: event.stream,
    revision: event.revision,
    event_id: event.id,
    type: event.type,
    data: shown.data,
    metadata: {
      actor: text(event.metadata, 'actor'),
      correlation_id: text(event.metadata, 'correlation_id'),
      causation_id: text(event.metadata, 'causation_id'),
      recorded_at: text(event.metadata, 'recorded_at'),
      hash: text(event.metadata, 'hash'),
    },
    ...(shown.redacted.length > 0 ? { redacted: shown.redacted } : {}),
  };
};

/**
 * Events a gateway's audit API showed with data removed: their hash cannot be recomputed from
 * what was shown. Kept beside the events (never read from a store), so nothing written into a
 * log can claim to be redacted.
 */
const shownRedacted = new WeakSet<RecordedEvent>();

/** Whether the audit API said it removed credentials from this event's data. */
export const wasRedacted = (event: RecordedEvent): boolean => shownRedacted.has(event);

/** Back to the store's shape (the CLI reading through the API); null metadata fields are left out, as they were missing. */
export const fromAuditEvent = (event: AuditEvent): RecordedEvent => {
  const recorded: RecordedEvent = {
    id: event.event_id,
    stream: event.stream,
    revision: event.revision,
    position: event.position,
    type: event.type,
    data: event.data,
    metadata: Object.fromEntries(Object.entries(event.metadata).filter(([, value]) => value !== null)),
  };
  if (event.redacted !== undefined && event.redacted.length > 0) shownRedacted.add(recorded);
  return recorded;
};

const nullableString = t.union([t.string, t.null]);
const integer = t.refinement(t.number, Number.isSafeInteger, 'integer');

/** Decodes what a gateway's audit API answers: the CLI trusts no input it did not check. */
const AuditEventCodec: t.Type<AuditEvent, AuditEvent, unknown> = t.intersection([
  t.type({
    position: integer,
    stream: t.string,
    revision: integer,
    event_id: t.string,
    type: t.string,
    data: t.UnknownRecord as unknown as t.Type<JsonObject, JsonObject, unknown>,
    metadata: t.type({
      actor: nullableString,
      correlation_id: nullableString,
      causation_id: nullableString,
      recorded_at: nullableString,
      hash: nullableString,
    }),
  }),
  t.partial({ redacted: t.readonlyArray(t.string) }),
]);

export const AuditPageCodec = t.type({ items: t.array(AuditEventCodec), next_cursor: nullableString });
export type AuditPage = t.TypeOf<typeof AuditPageCodec>;
