import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { toAuditEvent, type AuditEvent } from '../../src/audit/audit-event.js';
import type { EventStore, RecordedEvent } from '../../src/eventstore/port.js';
import { startTestGateway } from '../support/test-gateway.js';
import { serveAudit } from './audit-app.js';
import {
  allEvents,
  AUDITOR,
  copyOf,
  indexOf,
  keeper,
  makeHistory,
  openLog,
  readRecords,
  TOKENS,
  VIEWER,
  writeHistory,
  writeRecords,
  type History,
} from './real-log.js';

const BIN = join(process.cwd(), 'bin', 'gateway.mjs');

const kept = keeper();
let history: History;
test.before(async () => {
  history = await makeHistory(kept);
});
test.after.always(() => kept.run());

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The real CLI in a child process, arguments as an array (no shell), with PATH and HOME only, plus `env`. */
const gateway = (
  args: readonly string[],
  env: Record<string, string> = {},
  command: readonly string[] = [process.execPath, BIN],
): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(command[0]!, [...command.slice(1), ...args], {
      cwd: process.cwd(),
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

/** A copy of the history for one test (the CLI locks the folder it reads), and its events read by the store. */
const copy = async (t: ExecutionContext): Promise<{ dataDir: string; events: RecordedEvent[] }> => {
  const dataDir = await copyOf(t, history);
  const store = await openLog(t, dataDir);
  const events = await allEvents(store);
  await store.close();
  return { dataDir, events };
};

/** The types of a correlation id's events as the store has them, in log order: what a timeline must show. */
const storyTypes = (events: readonly RecordedEvent[], correlationId: string): string[] =>
  events.filter((event) => event.metadata['correlation_id'] === correlationId).map((event) => event.type);

/** `time  stream  actor  Type …`: the type is the first word after the actor column. */
const timelineTypes = (timeline: readonly string[]): string[] =>
  timeline.map((line) => /^\S+\s+\S+\s+\S+\s+(\S+)/.exec(line)![1]!);

test('replay prints a correlation id’s whole story as a timeline: time, stream, actor and a summary per event, in log order', async (t) => {
  const { dataDir, events } = await copy(t);
  const run = await gateway(['replay', 'story-billing', '--data-dir', dataDir]);
  t.is(run.code, 0, run.stderr);
  const [heading, ...timeline] = lines(run.stdout);
  const expected = storyTypes(events, 'story-billing');
  t.regex(
    heading!,
    new RegExp(`^correlation story-billing: ${expected.length} events in \\d+ streams, \\d{4}-.+Z to \\d{4}-.+Z$`),
  );
  t.deepEqual(timelineTypes(timeline), expected, 'every event of the story, in log order');
  const session = `session-${history.billing.sessionId}`;
  const find = (summary: string): string =>
    timeline.find((line) => line.endsWith(summary)) ?? `no line ends with ${summary}`;
  t.regex(
    find('BuilderClaimed platform-billing for session ' + history.billing.sessionId),
    /^\S+Z\s+builder-platform-billing\s+slack\s+/,
  );
  t.regex(
    find('SessionCreated billing (platform) "Threat model and encryption for SSO"'),
    new RegExp(`^\\S+Z\\s+${session}\\s+slack\\s+`),
  );
  t.regex(find('RouteConfirmed architect by gateway'), new RegExp(`^\\S+Z\\s+${session}\\s+slack\\s+`));
  t.regex(
    find('WorkspaceInitialized api on builder/platform-billing'),
    new RegExp(`^\\S+Z\\s+${session}\\s+pm:workspaces\\s+`),
    'what a process manager did because of the request belongs to its story',
  );
  t.true(timeline.some((line) => /RouteSuggested architect 0\.\d\d$/.test(line)));
  t.false(
    timeline.some((line) => line.includes('MessageSent')),
    'another request’s events are not in the story',
  );

  const unknown = await gateway(['replay', 'no-such-story', '--data-dir', dataDir]);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /no event in the embedded log in .+ has correlation id no-such-story/);
});

test('npm run replay -- <correlation_id> is gateway replay', async (t) => {
  const { dataDir, events } = await copy(t);
  const run = await gateway(['run', '--silent', 'replay', '--', 'story-close', '--data-dir', dataDir], {}, ['npm']);
  t.is(run.code, 0, run.stderr);
  const [heading, ...timeline] = lines(run.stdout);
  t.regex(heading!, /^correlation story-close: /);
  t.deepEqual(timelineTypes(timeline), storyTypes(events, 'story-close'));
  t.true(
    timeline.some((line) => / pm:builder-release +BuilderReleased platform-billing for session /.test(line)),
    'the builder released because of the close',
  );
});

test('verify exits 0 on an intact log and 1 on a tampered copy, naming the event', async (t) => {
  const { dataDir, events } = await copy(t);
  const good = await gateway(['verify', '--data-dir', dataDir]);
  t.is(good.code, 0, good.stderr);
  t.regex(
    good.stdout,
    new RegExp(
      `^OK: ${events.length} events checked in the embedded log in .+; every stream's hash chain is intact\\n$`,
    ),
  );
  t.regex(good.stderr, /verify: 100% \(\d+ events\)/, 'progress on stderr, as plain lines without a terminal');
  const json = await gateway(['verify', '--json', '--data-dir', dataDir]);
  t.deepEqual(JSON.parse(json.stdout), { ok: true, events_checked: events.length, first_bad: null });

  const stream = `session-${history.search.sessionId}`;
  const records = await readRecords(dataDir);
  await writeRecords(
    dataDir,
    records.filter((_, index) => index !== indexOf(records, stream, 4)),
  );
  const bad = await gateway(['verify', '--data-dir', dataDir]);
  t.is(bad.code, 1, bad.stderr);
  t.is(
    lines(bad.stdout)[0],
    `NOT OK: ${stream} revision 4: revision 5 follows 3: an event is missing (the log now numbers this event 4)`,
  );

  // Damage below the chain: a flipped byte fails the record's checksum, and the store refuses to open.
  const damaged = await copyOf(t, history);
  const file = join(damaged, 'events', 'events.log');
  const bytes = await readFile(file);
  bytes[100] = bytes[100]! ^ 0xff;
  await writeFile(file, bytes);
  const refused = await gateway(['verify', '--data-dir', damaged]);
  t.is(refused.code, 1, refused.stderr);
  t.regex(
    refused.stdout,
    /^NOT OK: event log .+ is corrupted at byte offset 0: checksum mismatch; a valid record follows/,
  );
});

test('export writes the log as JSON lines, from a position, of a stream', async (t) => {
  const { dataDir, events } = await copy(t);
  const parse = (run: Run): AuditEvent[] => lines(run.stdout).map((line) => JSON.parse(line) as AuditEvent);
  const all = await gateway(['export', '--data-dir', dataDir]);
  t.is(all.code, 0, all.stderr);
  t.deepEqual(parse(all), events.map(toAuditEvent));
  const from = await gateway(['export', '--from', '30', '--data-dir', dataDir]);
  t.deepEqual(parse(from), events.slice(30).map(toAuditEvent));
  const stream = `session-${history.billing.sessionId}`;
  const ofStream = await gateway(['export', '--stream', stream, '--data-dir', dataDir]);
  t.deepEqual(parse(ofStream), events.filter((event) => event.stream === stream).map(toAuditEvent));
  const late = await gateway(['export', '--stream', stream, '--from', '40', '--data-dir', dataDir]);
  t.deepEqual(parse(late), events.filter((event) => event.stream === stream && event.position >= 40).map(toAuditEvent));
});

test('rebuild folds every projection from the whole log and says what it built and how fast', async (t) => {
  const { dataDir, events } = await copy(t);
  const streams = new Set(events.map((event) => event.stream)).size;
  const types = new Set(events.map((event) => event.type)).size;
  for (const args of [['rebuild'], ['replay', '--rebuild']]) {
    const run = await gateway([...args, '--data-dir', dataDir]);
    t.is(run.code, 0, run.stderr);
    const [summary, ...built] = lines(run.stdout);
    t.regex(
      summary!,
      new RegExp(`^rebuilt 7 projections from ${events.length} events in \\d+\\.\\d\\d s \\([\\d,]+ events/s\\)$`),
    );
    t.deepEqual(
      built.map((line) => line.trim().split(/ {2,}/)),
      [
        // In the order of CAPABILITIES: sessions, notifications, agents, deployments, labs, audit.
        ['session-views', '2 sessions'],
        ['failed-webhooks', '0 parked webhooks'],
        ['agent-sessions', '0 running agents'],
        ['deployment-views', '0 deployments'],
        ['namespace-views', '0 lab namespaces'],
        ['stream-catalog', `${streams} streams`],
        ['log-summary', `${events.length} events of ${types} types`],
      ],
    );
    t.regex(run.stderr, /rebuild: 100% /);
  }
});

test('usage errors and unreadable sources exit 2 saying why', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /which command\?/],
    [['rewind'], /unknown command rewind/],
    [['replay'], /replay needs one correlation id/],
    [['export', '--from', 'yesterday'], /--from must be a \$all position/],
    [['verify', '--colour'], /Unknown option '--colour'/],
    [['verify', '--data-dir', join(history.dataDir, 'nowhere')], /no event log at .+nowhere\/events\/events\.log/],
    [['verify', '--url', 'http://127.0.0.1:9'], /--url needs an auditor token/],
  ];
  for (const [args, message] of cases) {
    const run = await gateway(args);
    t.is(run.code, 2, args.join(' '));
    t.regex(run.stderr, message, args.join(' '));
  }
});

/**
 * The running gateway's audit API. Until the composition root mounts the audit router, the same
 * router is served with the project's app over the running gateway's own store.
 */
const auditUrlOf = async (
  t: ExecutionContext,
  running: { url: string; eventLog: { store: EventStore } },
): Promise<string> => {
  const probe = await fetch(`${running.url}/api/audit/verify`, { headers: { authorization: `Bearer ${AUDITOR}` } });
  if (probe.status !== 404) return running.url;
  t.log('the gateway does not mount the audit routes yet: serving them beside it over its store');
  return (await serveAudit(t, running.eventLog.store)).url;
};

test('with --url the CLI reads a running gateway’s audit API; the log itself is locked and the CLI says to use --url', async (t) => {
  const running = await startTestGateway(t, { tokens: TOKENS, repos: ['api'] });
  const story = await writeHistory(running);
  const dataDir = dirname(running.config.event_store.type === 'embedded' ? running.config.event_store.data_dir : '');
  const locked = await gateway(['verify', '--data-dir', dataDir]);
  t.is(locked.code, 2);
  t.regex(locked.stderr, /held by a running gateway .+ --url <the gateway's URL> --token <an auditor token>/);

  const url = await auditUrlOf(t, running);
  // Process managers may still write bookkeeping: the count lies between the log before and after.
  const before = (await running.eventLog.store.readAll()).length;
  const verify = await gateway(['verify', '--url', url], { GATEWAY_TOKEN: AUDITOR });
  const after = (await running.eventLog.store.readAll()).length;
  t.is(verify.code, 0, verify.stderr);
  const checked = Number(/^OK: (\d+) events checked in the audit API of /.exec(verify.stdout)?.[1]);
  t.true(checked >= before && checked <= after, `${checked} events checked, the log held ${before} to ${after}`);
  const stream = `session-${story.billing.sessionId}`;
  const exported = await gateway(['export', '--url', url, '--token', AUDITOR, '--stream', stream]);
  t.is(exported.code, 0, exported.stderr);
  t.deepEqual(
    lines(exported.stdout).map((line) => JSON.parse(line) as unknown),
    (await running.eventLog.store.readStream(stream)).map(toAuditEvent),
  );
  const replay = await gateway(['replay', 'story-route', '--url', url, '--token', AUDITOR]);
  t.is(replay.code, 0, replay.stderr);
  t.true(
    lines(replay.stdout).some((line) => line.endsWith('RouteConfirmed builder by ann (overriding the suggestion)')),
    replay.stdout,
  );
  const rebuild = await gateway(['rebuild', '--url', url, '--token', AUDITOR]);
  t.is(rebuild.code, 0, rebuild.stderr);
  t.true(lines(rebuild.stdout).some((line) => /^ {2}session-views +2 sessions$/.test(line)));
  const viewer = await gateway(['verify', '--url', url, '--token', VIEWER]);
  t.is(viewer.code, 2);
  t.regex(viewer.stderr, /the gateway answered 403 to GET \/api\/audit\/events: role viewer may not GET/);
});
