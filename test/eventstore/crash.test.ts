import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCrashCampaign } from '../crash/campaign.js';

// CI runs a share of the campaign; `npm run crash -- --kills 200` runs the full count.
const KILLS = Number(process.env['CRASH_KILLS'] ?? 30);

test(`embedded log: ${KILLS} SIGKILLs at random moments lose no acknowledged event`, async (t) => {
  t.timeout(240_000);
  const dataDir = await mkdtemp(join(tmpdir(), 'crash-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const result = await runCrashCampaign({ dataDir, kills: KILLS });
  t.log(`${result.kills} kills, ${result.acknowledged} acknowledged events, ${result.eventsInLog} in the log`);
  t.deepEqual(result.problems, []);
  t.true(result.acknowledged > KILLS, 'the children acknowledged appends before being killed');
  t.true(result.eventsInLog >= result.acknowledged);
});

test(`embedded log: ${KILLS} SIGKILLs with file faults (short writes, ENOSPC, EIO on write and sync) lose no acknowledged event`, async (t) => {
  t.timeout(240_000);
  const dataDir = await mkdtemp(join(tmpdir(), 'crash-faults-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const result = await runCrashCampaign({ dataDir, kills: KILLS, faults: true });
  t.log(
    `${result.kills} kills, ${result.acknowledged} acknowledged events, ${result.eventsInLog} in the log, ${result.faults} appends refused for a fault and retried`,
  );
  t.deepEqual(result.problems, []);
  t.true(result.acknowledged > KILLS, 'the children acknowledged appends before being killed');
  t.true(result.eventsInLog >= result.acknowledged);
  t.true(result.faults > 0, 'file faults refused appends');
});
