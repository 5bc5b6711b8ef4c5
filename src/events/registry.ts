import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import type { JsonObject } from '../eventstore/port.js';
import type { EventDefinition, SomeEventDefinition } from './domain-event.js';
import { formatValidationProblems, reportValidationErrors } from './validation-report.js';

export class UnknownEventTypeError extends Error {
  override readonly name = 'UnknownEventTypeError';
  constructor(readonly type: string) {
    super(`no codec is registered for event type ${type}`);
  }
}

export class InvalidEventDataError extends Error {
  override readonly name = 'InvalidEventDataError';
  constructor(
    readonly type: string,
    readonly problems: readonly string[],
  ) {
    super(`event ${type} does not match its codec: ${problems.join('; ')}`);
  }
}

/** Every event type the gateway knows, with its codec: nothing is appended or read without it. */
export class EventRegistry {
  private readonly definitions = new Map<string, EventDefinition>();

  constructor(definitions: readonly SomeEventDefinition[] = []) {
    for (const definition of definitions) this.register(definition);
  }

  register(definition: SomeEventDefinition): this {
    const existing = this.definitions.get(definition.type);
    if (existing && existing !== definition) throw new Error(`event type ${definition.type} is registered twice`);
    this.definitions.set(definition.type, definition);
    return this;
  }

  has(type: string): boolean {
    return this.definitions.has(type);
  }

  /** Validates the data against its codec (so a wrong event never reaches the log) and encodes it. */
  encode(type: string, data: unknown): JsonObject {
    const definition = this.definitionOf(type);
    if (!definition.codec.is(data)) {
      // `is` is shallow for some codecs; decoding gives the full list of problems.
      const problems = this.problems(definition.codec, data);
      throw new InvalidEventDataError(type, problems.length > 0 ? problems : ['value is not of the codec type']);
    }
    return definition.codec.encode(data);
  }

  decode(type: string, data: unknown): unknown {
    const definition = this.definitionOf(type);
    const decoded = definition.codec.decode(data);
    if (E.isLeft(decoded))
      throw new InvalidEventDataError(type, formatValidationProblems(reportValidationErrors(decoded.left)));
    return decoded.right;
  }

  private definitionOf(type: string): EventDefinition {
    const definition = this.definitions.get(type);
    if (!definition) throw new UnknownEventTypeError(type);
    return definition;
  }

  private problems(codec: t.Type<unknown, JsonObject, unknown>, data: unknown): string[] {
    const decoded = codec.decode(data);
    return E.isLeft(decoded) ? formatValidationProblems(reportValidationErrors(decoded.left)) : [];
  }
}
