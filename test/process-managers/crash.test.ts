import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { EventLog } from '../../src/events/event-log.js';
import { EventRegistry } from '../../src/events/registry.js';
import { crashEventDefinitions } from './crash-events.js';

/**
 * A process manager killed with SIGKILL at random moments and restarted, over and over, while
 * new input keeps arriving: at the end every input has exactly one outcome in the log (none lost,
 * none applied twice). The outside effect itself may run again when the kill fell between doing
 * it and recording it; that is what at-least-once means, and the count is logged.
 *
 * PM_CRASH_ROUNDS raises the number of kills (default 8).
 */
const ROUNDS = Number(process.env['PM_CRASH_ROUNDS'] ?? 8);
const INPUTS_PER_ROUND = 30;
const CHILD = join(process.cwd(), 'test', 'process-managers', 'crash-child.ts');

const startChild = (dataDir: string, effectsLog: string, mode: 'run' | 'finish') => {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, effectsLog, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const listener of listeners) listener();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  /** Resolves when `count` lines match, or rejects if the child exits first. */
  const waitForLines = (predicate: (line: string) => boolean, count: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (lines.filter(predicate).length >= count) {
          listeners.delete(check);
          resolve();
        }
      };
      listeners.add(check);
      check();
      void exited.then(([code]) => {
        if (listeners.has(check)) reject(new Error(`child exited (${code}) early: ${stderr}`));
      });
    });
  return { child, lines, waitForLines, exited, stderr: () => stderr };
};

const appendInputs = async (dataDir: string, from: number, count: number) => {
  const store = await openEmbeddedEventStore({ dataDir });
  const eventLog = new EventLog(store, new EventRegistry(crashEventDefinitions));
  for (let n = from; n < from + count; n++) {
    await eventLog.append(`input-${n % 5}`, [{ type: 'InputArrived', data: { n } }], {
      expectedRevision: 'any',
      context: { actor: 'parent', correlationId: `input-${n}`, causationId: `input-${n}`, now: new Date() },
    });
  }
  await store.close();
};

const kill = async (child: ChildProcess, exited: Promise<unknown>) => {
  child.kill('SIGKILL');
  await exited;
};

test('killed and restarted mid-stream, the runner loses no reaction and applies none twice', async (t) => {
  t.timeout(180_000);
  const dataDir = await mkdtemp(join(tmpdir(), 'pm-crash-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const effectsLog = join(dataDir, 'effects.log');
  await writeFile(effectsLog, '');
  const outcomes = new Map<string, number>();
  const count = (lines: readonly string[]) => {
    for (const line of lines)
      if (line.startsWith('reaction ')) outcomes.set(line.slice(9), (outcomes.get(line.slice(9)) ?? 0) + 1);
  };

  let inputs = 0;
  for (let round = 0; round < ROUNDS; round++) {
    await appendInputs(dataDir, inputs, INPUTS_PER_ROUND);
    inputs += INPUTS_PER_ROUND;
    const run = startChild(dataDir, effectsLog, 'run');
    // At least INPUTS_PER_ROUND reactions are pending, so this many always come.
    const killAfter = 1 + Math.floor(Math.random() * (INPUTS_PER_ROUND - 5));
    await run.waitForLines((line) => line.startsWith('reaction '), killAfter);
    await kill(run.child, run.exited);
    count(run.lines);
  }

  const finish = startChild(dataDir, effectsLog, 'finish');
  const [code] = await finish.exited;
  t.is(code, 0, finish.stderr());
  t.true(finish.lines.includes('finished'));
  count(finish.lines);

  const store = await openEmbeddedEventStore({ dataDir });
  t.teardown(() => store.close());
  const all = await new EventLog(store, new EventRegistry(crashEventDefinitions)).readAll();
  const produced = new Map<number, number>();
  for (const stored of all) {
    if (stored.event.type === 'OutputProduced') {
      const { n } = stored.event.data as { n: number };
      produced.set(n, (produced.get(n) ?? 0) + 1);
    }
  }
  const lost = Array.from({ length: inputs }, (_, n) => n).filter((n) => !produced.has(n));
  const twice = [...produced].filter(([, times]) => times > 1).map(([n]) => n);
  t.deepEqual(lost, [], 'every input got its outcome');
  t.deepEqual(twice, [], 'no outcome was appended twice');
  t.is(produced.size, inputs);
  t.false(all.some((stored) => stored.event.type === 'ReactionFailed'));

  const effects = (await readFile(effectsLog, 'utf8')).split('\n').filter(Boolean).map(Number);
  const repeatedEffects = effects.length - new Set(effects).size;
  t.log(`${ROUNDS} kills, ${inputs} inputs; reaction outcomes seen: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  t.log(
    `outside effects performed ${effects.length} times for ${inputs} inputs (${repeatedEffects} repeated after a kill between effect and record)`,
  );
  t.is(new Set(effects).size, inputs, 'every effect was performed');
  t.true(
    (outcomes.get('already_done') ?? 0) > 0,
    'restarts met reactions already done after the checkpoint (the recovery path ran)',
  );
});
