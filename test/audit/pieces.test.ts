import test from 'ava';
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { httpSource } from '../../src/audit/http-source.js';
import { progressReporter } from '../../src/audit/progress.js';
import { summarize } from '../../src/audit/summary.js';
import { allViews, createEventRegistry } from '../../src/capabilities.js';

test('summaries say in a few words what an event says, after its type', (t) => {
  const registry = createEventRegistry();
  // Decoded by the real registry, as the timeline does: the samples match the events' codecs.
  const line = (type: string, data: object): string => summarize({ type, data: registry.decode(type, data) });
  t.is(
    line('SessionCreated', {
      session_id: 's1',
      category: 'platform',
      project: 'billing',
      repos: [{ name: 'api', url: null, ref: null }],
      task: { title: 'Fix the footer', description: '' },
      requested_by: null,
      created_at: '2030-01-01T00:00:00Z',
    }),
    'SessionCreated billing (platform) "Fix the footer"',
  );
  t.is(
    line('RouteSuggested', { suggested: 'builder', confidence: 0.912, reason: 'small fix', scores: {}, signals: [] }),
    'RouteSuggested builder 0.91',
  );
  t.is(
    line('DeploymentStepCompleted', {
      step: 'ingress',
      status: 'done',
      detail: 'ok',
      finished_at: '2030-01-01T00:00:00Z',
    }),
    'DeploymentStepCompleted ingress done',
  );
  t.is(line('SessionPaused', { paused_at: '2030-01-01T00:00:00Z' }), 'SessionPaused');
  t.is(
    line('ReactionCompleted', {
      process_manager: 'workspaces',
      key: 'e1:state-file',
      cause_event_id: 'e1',
      outcome: 'no_events',
    }),
    'ReactionCompleted workspaces state-file no_events',
  );
  t.is(
    line('MessageSent', {
      message_id: 'm1',
      text: `a very long message ${'x'.repeat(100)}`,
      from: 'U1',
      sent_at: '2030-01-01T00:00:00Z',
    }),
    `MessageSent from U1 "a very long message ${'x'.repeat(39)}…"`,
  );
  t.is(
    summarize({
      type: 'SomethingNew',
      data: { run_id: 'deploy', passed: true, finished_at: '2030-01-01T00:00:00Z', tests: {} },
    }),
    'SomethingNew run_id="deploy" passed=true',
    'a type without its own summary shows its plain fields, not its times',
  );
});

test('the rebuild knows every projection: the cross-cutting folds in projections/ and every slice view (src/*/*-view.ts)', async (t) => {
  const views = (await readdir(join(process.cwd(), 'src'), { recursive: true }))
    .filter((name) => name.endsWith('-view.ts'))
    .map((name) => join(process.cwd(), 'src', name));
  const folds = (await readdir(join(process.cwd(), 'projections')))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(process.cwd(), 'projections', name));
  const found: string[] = [];
  for (const file of [...folds, ...views]) {
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      const candidate = value as { name?: unknown; evolve?: unknown };
      if (
        typeof candidate === 'object' &&
        candidate !== null &&
        typeof candidate.name === 'string' &&
        typeof candidate.evolve === 'function'
      )
        found.push(candidate.name);
    }
  }
  t.true(found.length >= 7);
  t.deepEqual(
    allViews()
      .map((view) => view.projection.name)
      .sort(),
    found.sort(),
  );
});

const recorder = (isTTY: boolean) => {
  let text = '';
  return { out: { isTTY, write: (chunk: string) => ((text += chunk), true) }, text: () => text };
};

test('progress: a bar redrawn in place on a terminal, a plain line every 10% elsewhere', (t) => {
  const tty = recorder(true);
  const bar = progressReporter({ label: 'rebuild', out: tty.out, head: 199 });
  bar.update(50, 49);
  bar.update(200, 199);
  bar.finish();
  t.is(
    tty.text(),
    `\rrebuild [########----------------------]  25% 50 events\rrebuild [##############################] 100% 200 events\n`,
  );

  const pipe = recorder(false);
  const lines = progressReporter({ label: 'verify', out: pipe.out, head: 999 });
  for (let done = 100; done <= 1000; done += 50) lines.update(done, done - 1);
  lines.finish();
  t.deepEqual(
    pipe.text().trimEnd().split('\n'),
    [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map(
      (percent) => `verify: ${percent}% (${(percent * 10).toLocaleString('en-US')} events)`,
    ),
  );

  const unknownHead = recorder(false);
  const counts = progressReporter({ label: 'export', out: unknownHead.out, head: undefined, everyEvents: 500 });
  for (let done = 200; done <= 1600; done += 200) counts.update(done, done - 1);
  t.is(unknownHead.text(), 'export: 600 events\nexport: 1,000 events\nexport: 1,600 events\n');
});

test('reading through the API waits out the rate limit as Retry-After says, and follows next_cursor', async (t) => {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url!);
    if (requests.length === 1) {
      response
        .writeHead(429, { 'retry-after': '2', 'content-type': 'application/problem+json' })
        .end('{"detail":"slow down"}');
      return;
    }
    const item = (position: number) => ({
      position,
      stream: 's',
      revision: position,
      event_id: `e${position}`,
      type: 'T',
      data: {},
      metadata: { actor: 'a', correlation_id: 'c', causation_id: 'x', recorded_at: null, hash: null },
    });
    const first = request.url!.includes('from_position=0');
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(
        JSON.stringify(
          first ? { items: [item(0), item(1)], next_cursor: 'NEXT' } : { items: [item(2)], next_cursor: null },
        ),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const waits: number[] = [];
  const source = httpSource({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    token: 'auditor-token',
    sleep: async (ms) => void waits.push(ms),
  });
  const events = await source.readAll(0, 10);
  t.deepEqual(
    events.map((event) => [event.position, event.metadata]),
    [
      [0, { actor: 'a', correlation_id: 'c', causation_id: 'x' }],
      [1, { actor: 'a', correlation_id: 'c', causation_id: 'x' }],
      [2, { actor: 'a', correlation_id: 'c', causation_id: 'x' }],
    ],
  );
  t.deepEqual(waits, [2000]);
  t.deepEqual(requests, [
    '/api/audit/events?from_position=0&limit=10',
    '/api/audit/events?from_position=0&limit=10',
    '/api/audit/events?cursor=NEXT&limit=8',
  ]);
});
