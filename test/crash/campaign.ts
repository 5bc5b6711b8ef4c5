import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { idFor, payloadFor } from './append-child.js';

export interface CampaignResult {
  readonly kills: number;
  readonly acknowledged: number;
  readonly eventsInLog: number;
  /** Appends the children saw refused for a file fault (and retried); 0 without `faults`. */
  readonly faults: number;
  readonly problems: readonly string[];
}

const CHILD = join(import.meta.dirname, 'append-child.ts');

/**
 * Kills an appending child with SIGKILL at random moments, `kills` times, on one growing log.
 * After each kill the log is reopened and every acknowledged event must be there, intact and
 * in order; the next child then continues on the same log. With `faults` the children's log
 * file also suffers random write faults (short writes, ENOSPC, EIO on write and on sync, failed
 * cut backs): refused appends are retried by the child and counted here.
 */
export const runCrashCampaign = async (options: {
  dataDir: string;
  kills: number;
  writers?: number;
  maxDelayMs?: number;
  random?: () => number;
  faults?: boolean;
}): Promise<CampaignResult> => {
  const random = options.random ?? Math.random;
  const acknowledged = new Map<string, Map<number, string>>();
  const problems: string[] = [];
  let acks = 0;
  let faults = 0;
  let eventsInLog = 0;
  // Revisions already verified per stream: each kill checks what is new, the last kill everything.
  const verified = new Map<string, number>();
  for (let kill = 0; kill < options.kills; kill++) {
    const args = [CHILD, options.dataDir, String(options.writers ?? 8), ...(options.faults ? ['faults'] : [])];
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const exited = once(child, 'exit');
    while (!output.includes('ready\n') && child.exitCode === null)
      await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, random() * (options.maxDelayMs ?? 150)));
    child.kill('SIGKILL');
    const [code, signal] = (await exited) as [number | null, string | null];
    if (signal !== 'SIGKILL') problems.push(`kill ${kill}: child ended by itself (code ${code}): ${errors.trim()}`);
    for (const line of output.split('\n')) {
      const [word, stream, revision, id] = line.split(' ');
      if (word === 'fault') faults++;
      if (word !== 'ack') continue;
      let acked = acknowledged.get(stream!);
      if (!acked) acknowledged.set(stream!, (acked = new Map()));
      acked.set(Number(revision), id!);
      acks++;
    }
    const store = await openEmbeddedEventStore({ dataDir: options.dataDir });
    try {
      const [last] = await store.readAll({ direction: 'backwards', maxCount: 1 });
      eventsInLog = last ? last.position + 1 : 0;
      const final = kill === options.kills - 1;
      for (const [stream, acked] of acknowledged) {
        const from = final ? 0 : (verified.get(stream) ?? 0);
        const events = [...new Array<undefined>(from), ...(await store.readStream(stream, { fromRevision: from }))];
        verified.set(stream, Math.max(from, events.length - 1));
        events.forEach((event, index) => {
          if (!event) return;
          if (event.revision !== index) problems.push(`${stream}: event ${index} has revision ${event.revision}`);
          if (event.id !== idFor(stream, index))
            problems.push(`${stream}@${index}: id ${event.id} is not the one written`);
          if (JSON.stringify(event.data) !== JSON.stringify(payloadFor(stream, index)))
            problems.push(`${stream}@${index}: data damaged`);
        });
        for (const [revision, id] of acked) {
          if (revision >= from && events[revision]?.id !== id)
            problems.push(`kill ${kill}: acknowledged ${stream}@${revision} is missing`);
        }
        if (events.length < Math.max(...acked.keys()) + 1)
          problems.push(`kill ${kill}: ${stream} ends before its last acknowledged event`);
      }
    } finally {
      await store.close();
    }
    if (problems.length > 0) break;
  }
  return { kills: options.kills, acknowledged: acks, eventsInLog, faults, problems };
};
