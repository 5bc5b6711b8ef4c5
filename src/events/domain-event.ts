import * as t from 'io-ts';
import type { JsonObject } from '../eventstore/port.js';

/** A domain event as deciders produce and evolve consume it: a past-tense type and its data. */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
}

/**
 * An event type with the io-ts codec that is the only way its data reaches or leaves the log.
 * `codec.encode` must yield a JSON object; `codec.decode` checks what was read.
 */
export interface EventDefinition<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly codec: t.Type<Data, JsonObject, unknown>;
}

/**
 * Any one event definition, whatever its data: what lists of many event types hold. `t.Type` is
 * invariant in its data (it both decodes to and encodes from it), so no narrower type takes them all.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the existential type TypeScript lacks
export type SomeEventDefinition = EventDefinition<string, any>;

export const defineEvent = <Type extends string, Data>(
  type: Type,
  codec: t.Type<Data, JsonObject, unknown>,
): EventDefinition<Type, Data> => ({ type, codec });

/** The domain event a definition describes, e.g. `EventOf<typeof SessionCreated>`. */
export type EventOf<D> = D extends EventDefinition<infer Type, infer Data> ? DomainEvent<Type, Data> : never;

/**
 * Narrows an io-ts codec whose output is a plain object to the JSON-object output the log stores.
 * Sound for codecs built from strings, numbers, booleans, null, arrays and (exact/partial) types.
 */
export const jsonCodec = <A, O>(codec: t.Type<A, O, unknown>): t.Type<A, JsonObject, unknown> =>
  codec as unknown as t.Type<A, JsonObject, unknown>;
