import type { ExecutionContext } from 'ava';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_FILE, openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { checkFrame, decodeBodyAt, encodeFrame, type RecordBody } from '../../src/eventstore/embedded/frame.js';
import type { EventStore, RecordedEvent } from '../../src/eventstore/port.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

export const OPERATOR = 'operator-token-0123456789';
export const AUDITOR = 'auditor-token-0123456789';
export const VIEWER = 'viewer-token-0123456789';
export const TOKENS = `slack:operator:${OPERATOR},ann:auditor:${AUDITOR},grafana:viewer:${VIEWER}`;

/** What the story written by `makeHistory` holds, for the tests to look for. */
export interface History {
  /** A data folder whose `events/` holds the log (a copy: the gateway that wrote it is gone). */
  readonly dataDir: string;
  readonly billing: { readonly sessionId: string; readonly correlationId: string };
  readonly search: { readonly sessionId: string; readonly correlationId: string };
}

const call = caller(OPERATOR);

const post = async (
  gateway: TestGateway,
  path: string,
  body: unknown,
  correlationId: string,
): Promise<{ session_id: string }> => {
  const response = await call(gateway, 'POST', path, body, { 'X-Correlation-Id': correlationId });
  if (response.status !== 202) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { session_id: string };
};

/**
 * Real history written by the real gateway (HTTP commands, the workspace manager and the
 * builder releaser as process managers): two sessions, one confirmed by the gateway itself and
 * one by a person, messages, a pause, a resume and a close, each request with its own
 * correlation id. Several streams: sessions, builders, process-manager checkpoints.
 */
export const writeHistory = async (gateway: TestGateway): Promise<Omit<History, 'dataDir'>> => {
  const billing = await post(
    gateway,
    '/api/sessions',
    {
      category: 'platform',
      project: 'billing',
      repos: [{ name: 'api' }],
      task: {
        title: 'Threat model and encryption for SSO',
        description: 'Security review of the OAuth authentication flow.',
      },
    },
    'story-billing',
  );
  await waitForSessionStatus(call, gateway, billing.session_id, 'active');
  await post(
    gateway,
    `/api/sessions/${billing.session_id}/messages`,
    { text: 'Please start with the token storage.', from: 'U1' },
    'story-message',
  );
  const search = await post(
    gateway,
    '/api/sessions',
    {
      category: 'platform',
      project: 'search',
      repos: [{ name: 'api' }],
      task: { title: 'Improve things', description: 'Please have a look.' },
    },
    'story-search',
  );
  await waitForSessionStatus(call, gateway, search.session_id, 'awaiting_route');
  await post(
    gateway,
    `/api/sessions/${search.session_id}/route`,
    { route: 'builder', confirmed_by: 'ann' },
    'story-route',
  );
  await waitForSessionStatus(call, gateway, search.session_id, 'active');
  // A conversation, so the log is longer than one default page of the audit API.
  for (let i = 1; i <= 40; i++)
    await post(
      gateway,
      `/api/sessions/${search.session_id}/messages`,
      { text: `Message ${i}`, from: 'U2' },
      'story-chat',
    );
  await post(gateway, `/api/sessions/${billing.session_id}/pause`, {}, 'story-pause');
  await post(gateway, `/api/sessions/${billing.session_id}/resume`, {}, 'story-resume');
  await post(gateway, `/api/sessions/${billing.session_id}/close`, { reason: 'done' }, 'story-close');
  // The builder releaser reacts to the close in the background: its event belongs to the story.
  await eventually(
    async () =>
      (await gateway.eventLog.readStream('builder-platform-billing')).some(
        (stored) => stored.event.type === 'BuilderReleased',
      )
        ? true
        : undefined,
    'the billing builder is released',
  );
  return {
    billing: { sessionId: billing.session_id, correlationId: 'story-billing' },
    search: { sessionId: search.session_id, correlationId: 'story-search' },
  };
};

export const tempDir = async (t: Pick<ExecutionContext, 'teardown'>, prefix = 'audit-'): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

/**
 * Starts a test gateway, writes the history, stops the gateway and keeps a copy of its log.
 * Written once per test file in a `before` hook, where ava allows no teardown: `keeper` removes
 * the folders in `after.always` (the test gateway only ever calls `teardown` on its context).
 */
export const makeHistory = async (keeper: Pick<ExecutionContext, 'teardown'>): Promise<History> => {
  const gateway = await startTestGateway(keeper as ExecutionContext, { tokens: TOKENS, repos: ['api'] });
  const story = await writeHistory(gateway);
  await gateway.stop();
  const dataDir = await tempDir(keeper, 'audit-history-');
  const store = gateway.config.event_store;
  if (store.type !== 'embedded') throw new Error('the test gateway runs on the embedded log');
  await cp(join(store.data_dir, LOG_FILE), join(dataDir, 'events', LOG_FILE));
  return { dataDir, ...story };
};

/** Cleanups for what a `before` hook made, to run in `after.always`. */
export const keeper = (): Pick<ExecutionContext, 'teardown'> & { run(): Promise<void> } => {
  const cleanups: (() => unknown)[] = [];
  return {
    teardown: (fn: () => unknown) => void cleanups.push(fn),
    run: async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
};

/** Another data folder holding a copy of the history's log, to tamper with. */
export const copyOf = async (
  t: Pick<ExecutionContext, 'teardown'>,
  history: Pick<History, 'dataDir'>,
): Promise<string> => {
  const dataDir = await tempDir(t, 'audit-copy-');
  await cp(join(history.dataDir, 'events', LOG_FILE), join(dataDir, 'events', LOG_FILE));
  return dataDir;
};

export interface LogRecord {
  readonly stream: string;
  readonly body: RecordBody;
}

/** Every record of a data folder's log, decoded from its frames, in file order. */
export const readRecords = async (dataDir: string): Promise<LogRecord[]> => {
  const buffer = await readFile(join(dataDir, 'events', LOG_FILE));
  const records: LogRecord[] = [];
  for (let offset = 0; offset < buffer.length;) {
    const frame = checkFrame(buffer, offset);
    if (!frame.ok) throw new Error(`bad frame at ${offset}: ${frame.reason}`);
    records.push({ stream: frame.stream, body: decodeBodyAt(buffer, offset) });
    offset += frame.length;
  }
  return records;
};

/** Rewrites the log from records, each frame re-encoded with a valid CRC: an attacker who rewrites records. */
export const writeRecords = async (dataDir: string, records: readonly LogRecord[]): Promise<void> => {
  await writeFile(
    join(dataDir, 'events', LOG_FILE),
    Buffer.concat(records.map((record) => encodeFrame(record.stream, record.body))),
  );
};

/** Where the `revision`-th record of `stream` sits in the file. */
export const indexOf = (records: readonly LogRecord[], stream: string, revision: number): number => {
  let seen = -1;
  const index = records.findIndex((record) => record.stream === stream && ++seen === revision);
  if (index < 0) throw new Error(`${stream} has no revision ${revision}`);
  return index;
};

/** Opens a data folder's log with the real embedded store, closed when the test ends. */
export const openLog = async (t: Pick<ExecutionContext, 'teardown'>, dataDir: string): Promise<EventStore> => {
  const store = await openEmbeddedEventStore({ dataDir: join(dataDir, 'events') });
  t.teardown(() => store.close());
  return store;
};

export const allEvents = (store: EventStore): Promise<RecordedEvent[]> => store.readAll();
