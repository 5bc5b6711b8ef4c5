import * as t from 'io-ts';
import { defineEvent, jsonCodec, type EventOf, type SomeEventDefinition } from '../events/domain-event.js';

/** How far a process manager has processed `$all`; it resumes after this position. */
const CheckpointSaved = defineEvent('CheckpointSaved', jsonCodec(t.type({ subscriber: t.string, position: t.number })));

/** A reaction finished without events of its own (an effect with nothing to report, or a refused command). */
const ReactionCompleted = defineEvent(
  'ReactionCompleted',
  jsonCodec(
    t.intersection([
      t.type({
        process_manager: t.string,
        key: t.string,
        cause_event_id: t.string,
        outcome: t.union([t.literal('no_events'), t.literal('rejected')]),
      }),
      t.partial({ detail: t.string }),
    ]),
  ),
);

/** A reaction gave up after its attempts; kept in the log so it is never silently dropped. */
const ReactionFailed = defineEvent(
  'ReactionFailed',
  jsonCodec(
    t.type({
      process_manager: t.string,
      key: t.string,
      cause_event_id: t.string,
      /** The effect's kind, or `append` / `command`. */
      effect_kind: t.string,
      error: t.string,
      attempts: t.number,
    }),
  ),
);

export type ProcessManagerEvent =
  EventOf<typeof CheckpointSaved> | EventOf<typeof ReactionCompleted> | EventOf<typeof ReactionFailed>;

/** Every event type the process-manager runtime writes; the composition root registers them. */
export const processManagerEventDefinitions: readonly SomeEventDefinition[] = [
  CheckpointSaved,
  ReactionCompleted,
  ReactionFailed,
];
