import * as io from 'io-ts';
import { defineEvent, jsonCodec, type EventOf } from '../../src/events/domain-event.js';
import { processManagerEventDefinitions } from '../../src/process-managers/events.js';

/** Events of the crash test: each input must get exactly one output. */
export const InputArrived = defineEvent('InputArrived', jsonCodec(io.type({ n: io.number })));
export const OutputProduced = defineEvent('OutputProduced', jsonCodec(io.type({ n: io.number })));
export const crashEventDefinitions = [InputArrived, OutputProduced, ...processManagerEventDefinitions];
export type CrashEvent = EventOf<typeof InputArrived> | EventOf<typeof OutputProduced>;
