import test, { type ExecutionContext } from 'ava';
import { toAuditEvent, type AuditEvent } from '../../src/audit/audit-event.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { serveAudit } from './audit-app.js';
import { allEvents, copyOf, keeper, makeHistory, openLog, OPERATOR, VIEWER, type History } from './real-log.js';

const kept = keeper();
let history: History;
test.before(async () => {
  history = await makeHistory(kept);
});
test.after.always(() => kept.run());

type Page = { items: AuditEvent[]; next_cursor: string | null };
type Problem = { status: number; detail: string; errors?: { path: string; message: string }[] };

/** A copy of the history per test: one process may hold a log folder at a time, and tests run concurrently. */
const open = async (
  t: ExecutionContext,
): Promise<{ store: EventStore; url: string; get: (path: string, token?: string) => Promise<Response> }> => {
  const store = await openLog(t, await copyOf(t, history));
  return { store, ...(await serveAudit(t, store)) };
};

/** Follows `next_cursor` from `first` to the end, keeping the query. */
const everyPage = async (get: (path: string) => Promise<Response>, first: string): Promise<Page[]> => {
  const pages: Page[] = [];
  let path: string | undefined = first;
  while (path !== undefined) {
    const response = await get(path);
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as Page;
    pages.push(page);
    path =
      page.next_cursor === null ? undefined : `${first}${first.includes('?') ? '&' : '?'}cursor=${page.next_cursor}`;
  }
  return pages;
};

test('GET /api/audit/events pages through the whole log in order, each event as stored with its metadata and hash', async (t) => {
  const { store, get } = await open(t);
  const events = await allEvents(store);
  t.true(events.length > 50, `the log has more than a default page (${events.length} events)`);
  const first = (await (await get('/api/audit/events')).json()) as Page;
  t.is(first.items.length, 50, 'limit defaults to 50');
  t.not(first.next_cursor, null);
  const pages = await everyPage(get, '/api/audit/events?limit=7');
  t.deepEqual(
    pages.flatMap((page) => page.items),
    events.map(toAuditEvent),
    'every event once, in log order',
  );
  t.true(pages.slice(0, -1).every((page) => page.items.length === 7));
  t.is(pages[pages.length - 1]!.next_cursor, null, 'the last page says it is the last');
  const created = pages.flatMap((page) => page.items).find((item) => item.type === 'SessionCreated')!;
  t.like(created, {
    stream: `session-${history.billing.sessionId}`,
    revision: 0,
    data: { project: 'billing', category: 'platform' },
    metadata: { actor: 'slack', correlation_id: 'story-billing' },
  });
  t.regex(created.metadata.hash!, /^[0-9a-f]{64}$/);
  t.regex(created.metadata.recorded_at!, /^\d{4}-\d\d-\d\dT/);
  t.is(typeof created.metadata.causation_id, 'string');
});

test('from_position starts the page there (inclusive); a cursor wins over it', async (t) => {
  const { get } = await open(t);
  const page = (await (await get('/api/audit/events?from_position=5&limit=3')).json()) as Page;
  t.deepEqual(
    page.items.map((item) => item.position),
    [5, 6, 7],
  );
  const next = (await (
    await get(`/api/audit/events?from_position=5&limit=3&cursor=${page.next_cursor}`)
  ).json()) as Page;
  t.deepEqual(
    next.items.map((item) => item.position),
    [8, 9, 10],
  );
  const past = (await (await get('/api/audit/events?from_position=100000')).json()) as Page;
  t.deepEqual(past, { items: [], next_cursor: null }, 'past the end is an empty last page');
});

test('bad paging parameters are one 400 naming each of them', async (t) => {
  const { get } = await open(t);
  const cases: [string, string[]][] = [
    ['/api/audit/events?limit=0', ['query.limit']],
    ['/api/audit/events?limit=501', ['query.limit']],
    ['/api/audit/events?limit=ten&from_position=-1', ['query.from_position', 'query.limit']],
    ['/api/audit/events?from_position=1.5&cursor=not-a-cursor', ['query.cursor', 'query.from_position']],
    ['/api/audit/events?from_position=1&from_position=2', ['query.from_position']],
    ['/api/audit/streams/x?from_revision=abc&limit=1000', ['query.from_revision', 'query.limit']],
  ];
  for (const [path, fields] of cases) {
    const response = await get(path);
    t.is(response.status, 400, path);
    t.is(response.headers.get('content-type'), 'application/problem+json');
    const problem = (await response.json()) as Problem;
    t.deepEqual(problem.errors?.map((error) => error.path).sort(), fields, path);
  }
});

test('GET /api/audit/streams/{stream} is one stream’s history from from_revision; an unknown stream is 404', async (t) => {
  const { store, get } = await open(t);
  const stream = `session-${history.billing.sessionId}`;
  const expected = (await store.readStream(stream)).map(toAuditEvent);
  t.true(expected.length >= 6);
  const pages = await everyPage(get, `/api/audit/streams/${stream}?limit=4`);
  t.deepEqual(
    pages.flatMap((page) => page.items),
    expected,
  );
  const later = (await (await get(`/api/audit/streams/${stream}?from_revision=2`)).json()) as Page;
  t.deepEqual(later, { items: expected.slice(2), next_cursor: null });
  const past = await get(`/api/audit/streams/${stream}?from_revision=1000`);
  t.is(past.status, 200, 'past the end of a stream that exists is an empty page');
  t.deepEqual(await past.json(), { items: [], next_cursor: null });
  const unknown = await get('/api/audit/streams/session-nobody');
  t.is(unknown.status, 404);
  t.is(((await unknown.json()) as Problem).detail, 'no stream session-nobody in the log');
});

test('audit is for auditors and operators: a viewer is 403, no token 401', async (t) => {
  const { get, url } = await open(t);
  for (const path of ['/api/audit/events', '/api/audit/streams/x', '/api/audit/verify']) {
    t.is((await get(path, VIEWER)).status, 403, path);
    t.is((await fetch(`${url}${path}`)).status, 401, path);
  }
  t.is((await get('/api/audit/verify', OPERATOR)).status, 200);
  t.like(await (await get('/api/audit/verify')).json(), { ok: true, first_bad: null });
});
