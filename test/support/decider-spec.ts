import type { ExecutionContext } from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import { foldEvents, type Decider } from '../../src/commands/decider.js';
import type { DomainEvent } from '../../src/events/domain-event.js';

/**
 * Given/when/then for a pure decider, no store and no mocks:
 * `spec.given([...events]).when(command).then(t, [...expected])` or `.thenFails(t, error)`.
 */
export const deciderSpec = <Command, Event extends DomainEvent, State, Error>(
  decider: Decider<Command, Event, State, Error>,
) => ({
  given: (events: readonly Event[]) => ({
    when: (command: Command) => {
      const result = decider.decide(command, foldEvents(decider, events));
      return {
        then: (t: ExecutionContext, expected: readonly Event[]): void => {
          if (E.isLeft(result))
            return void t.fail(`expected events, the decider refused: ${JSON.stringify(result.left)}`);
          t.deepEqual(result.right, expected);
        },
        thenFails: (t: ExecutionContext, expected: Error): void => {
          if (E.isRight(result))
            return void t.fail(`expected a refusal, the decider decided ${JSON.stringify(result.right)}`);
          t.deepEqual(result.left, expected);
        },
      };
    },
  }),
});
