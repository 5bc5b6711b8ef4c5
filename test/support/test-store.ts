import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import type { EventStore } from '../../src/eventstore/port.js';
import type { EventDefinition } from '../../src/events/domain-event.js';
import { EventLog } from '../../src/events/event-log.js';
import type { CommandContext } from '../../src/events/metadata.js';
import { EventRegistry } from '../../src/events/registry.js';

export interface TestStore {
  readonly dataDir: string;
  readonly store: EventStore;
  /** Closes the store; the folder stays until the test ends (for reopening). */
  readonly close: () => Promise<void>;
  /** Opens the same folder again, e.g. after `close()` to check what survived. */
  readonly reopen: () => Promise<EventStore>;
}

/**
 * The real embedded store in a fresh temporary folder. Closed and deleted when the test ends,
 * whether it passed or not.
 */
export const openTestStore = async (t: ExecutionContext): Promise<TestStore> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'gateway-test-'));
  let current: EventStore | undefined = await openEmbeddedEventStore({ dataDir });
  t.teardown(async () => {
    await current?.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return {
    dataDir,
    get store(): EventStore {
      if (!current) throw new Error('the test store is closed');
      return current;
    },
    close: async () => {
      await current?.close();
      current = undefined;
    },
    reopen: async () => {
      await current?.close();
      current = await openEmbeddedEventStore({ dataDir });
      return current;
    },
  };
};

/** A typed event log over a fresh test store, knowing the given event types. */
export const openTestEventLog = async (
  t: ExecutionContext,
  definitions: readonly EventDefinition<string, any>[],
): Promise<{ eventLog: EventLog; registry: EventRegistry; testStore: TestStore }> => {
  const testStore = await openTestStore(t);
  const registry = new EventRegistry(definitions);
  return { eventLog: new EventLog(testStore.store, registry), registry, testStore };
};

/** A command context with a fixed clock, for tests. */
export const testContext = (overrides: Partial<CommandContext> = {}): CommandContext => ({
  actor: 'tester',
  correlationId: 'corr-1',
  causationId: 'cause-1',
  now: new Date('2030-01-01T00:00:00.000Z'),
  ...overrides,
});
