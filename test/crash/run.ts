import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCrashCampaign } from './campaign.js';

/**
 * `npm run crash -- --kills 200`: the full crash campaign of the embedded log (SIGKILL only).
 * Add `--faults` to inject file faults beside the kills (short writes, ENOSPC, EIO on write and sync).
 */
const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '200' },
    writers: { type: 'string', default: '8' },
    faults: { type: 'boolean', default: false },
  },
});
const dataDir = await mkdtemp(join(tmpdir(), 'crash-campaign-'));
const started = Date.now();
try {
  const result = await runCrashCampaign({
    dataDir,
    kills: Number(values.kills),
    writers: Number(values.writers),
    faults: values.faults,
  });
  const faults = values.faults ? `  refused appends (file faults): ${result.faults}` : '';
  console.log(
    `kills: ${result.kills}  acknowledged events: ${result.acknowledged}  events in log: ${result.eventsInLog}${faults}  time: ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  if (result.problems.length > 0) {
    console.log(`LOST OR DAMAGED:\n${result.problems.slice(0, 20).join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log('every acknowledged event was present, intact and in order after every kill');
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
