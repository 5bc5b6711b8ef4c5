import test from 'ava';
import { ProcessManagerGroup, type Startable } from '../../src/process-managers/group.js';

const fake = (name: string, log: string[], failStart = false): Startable => ({
  name,
  start: async () => {
    if (failStart) throw new Error(`${name} cannot start`);
    log.push(`start ${name}`);
  },
  stop: async () => {
    log.push(`stop ${name}`);
  },
});

test('a group starts and stops all its runners once, however often it is told', async (t) => {
  const log: string[] = [];
  const group = new ProcessManagerGroup([fake('a', log), fake('b', log)]);
  await Promise.all([group.start(), group.start()]);
  t.true(group.isActive);
  await Promise.all([group.stop(), group.stop()]);
  t.false(group.isActive);
  await group.start();
  t.deepEqual(log, ['start a', 'start b', 'stop a', 'stop b', 'start a', 'start b']);
});

test('if one runner cannot start, those started are stopped and the error surfaces', async (t) => {
  const log: string[] = [];
  const group = new ProcessManagerGroup([fake('a', log), fake('b', log, true)]);
  await t.throwsAsync(group.start(), { message: 'b cannot start' });
  t.false(group.isActive);
  t.deepEqual(log, ['start a', 'stop a']);
});

test('two runners with one name are refused', (t) => {
  t.throws(() => new ProcessManagerGroup([fake('a', []), fake('a', [])]), {
    message: 'two process managers are named a',
  });
});
