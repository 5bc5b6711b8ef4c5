import * as E from 'fp-ts/lib/Either.js';
import * as io from 'io-ts';
import type { Decider } from '../../src/commands/decider.js';
import { assertNever, conflict, invalid, notFound } from '../../src/commands/domain-error.js';
import { defineEvent, jsonCodec, type EventOf } from '../../src/events/domain-event.js';

/** A small aggregate for tests of the command machinery: a counter with a limit that can be closed. */
export const CounterOpened = defineEvent(
  'CounterOpened',
  jsonCodec(io.type({ counter_id: io.string, limit: io.number })),
);
export const CounterIncremented = defineEvent(
  'CounterIncremented',
  jsonCodec(io.type({ by: io.number, at: io.string })),
);
export const CounterClosed = defineEvent('CounterClosed', jsonCodec(io.type({ at: io.string })));
export const counterEventDefinitions = [CounterOpened, CounterIncremented, CounterClosed];

export type CounterEvent =
  EventOf<typeof CounterOpened> | EventOf<typeof CounterIncremented> | EventOf<typeof CounterClosed>;

export type CounterState =
  | { readonly status: 'absent' }
  | { readonly status: 'open'; readonly id: string; readonly value: number; readonly limit: number }
  | { readonly status: 'closed'; readonly id: string; readonly value: number };

export type CounterCommand =
  | { readonly type: 'open'; readonly id: string; readonly limit: number }
  | { readonly type: 'increment'; readonly by: number; readonly now: Date }
  | { readonly type: 'close'; readonly now: Date };

export const counterDecider: Decider<CounterCommand, CounterEvent, CounterState> = {
  initialState: () => ({ status: 'absent' }),
  evolve: (state, event) => {
    switch (event.type) {
      case 'CounterOpened':
        return { status: 'open', id: event.data.counter_id, value: 0, limit: event.data.limit };
      case 'CounterIncremented':
        return state.status === 'open' ? { ...state, value: state.value + event.data.by } : state;
      case 'CounterClosed':
        return state.status === 'open' ? { status: 'closed', id: state.id, value: state.value } : state;
      default:
        return assertNever(event);
    }
  },
  decide: (command, state) => {
    switch (command.type) {
      case 'open':
        if (state.status !== 'absent') return E.left(conflict(state.status, `counter ${state.id} already exists`));
        return E.right([{ type: 'CounterOpened', data: { counter_id: command.id, limit: command.limit } }]);
      case 'increment': {
        if (state.status === 'absent') return E.left(notFound('no such counter'));
        if (state.status === 'closed') return E.left(conflict('closed', `counter ${state.id} is closed`));
        if (!Number.isInteger(command.by) || command.by < 1)
          return E.left(invalid([{ path: 'by', message: 'must be a positive integer' }]));
        if (state.value + command.by > state.limit)
          return E.left(conflict('open', `counter ${state.id} would pass its limit ${state.limit}`));
        return E.right([{ type: 'CounterIncremented', data: { by: command.by, at: command.now.toISOString() } }]);
      }
      case 'close':
        if (state.status === 'absent') return E.left(notFound('no such counter'));
        // Closing twice is harmless: nothing to append.
        if (state.status === 'closed') return E.right([]);
        return E.right([{ type: 'CounterClosed', data: { at: command.now.toISOString() } }]);
      default:
        return assertNever(command);
    }
  },
};
