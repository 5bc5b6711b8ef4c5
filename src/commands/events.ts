import type { SomeEventDefinition } from '../events/domain-event.js';
import {
  IdempotentRequestAbandoned,
  IdempotentRequestStarted,
  IdempotentResponseRecorded,
} from './idempotency-events.js';

/** Every event type command handling writes; the composition root registers them. */
export const commandEventDefinitions: readonly SomeEventDefinition[] = [
  IdempotentRequestStarted,
  IdempotentResponseRecorded,
  IdempotentRequestAbandoned,
];
