import * as t from 'io-ts';

/** Who caused an event and within which request; carried by every event. No secret ever goes here. */
export interface CommandContext {
  /** Token name for API commands, `pm:<name>` for process managers, `system` for the gateway itself. */
  readonly actor: string;
  /** The originating request: one Slack request's whole story shares it. */
  readonly correlationId: string;
  /** The event id or command id that caused these events. */
  readonly causationId: string;
  readonly now: Date;
}

export const EventMetadataCodec = t.type({
  actor: t.string,
  correlation_id: t.string,
  causation_id: t.string,
  recorded_at: t.string,
  /** SHA-256 of the previous event's hash and this event's content (see hash-chain.ts). */
  hash: t.string,
});
export type EventMetadata = t.TypeOf<typeof EventMetadataCodec>;
