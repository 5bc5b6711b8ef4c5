import test from 'ava';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildOpenApiDocument } from '../../src/openapi/document.js';
import { createApp } from '../../src/api/app.js';
import { GatewayMetrics } from '../../src/api/metrics.js';
import { LOG_FILE, openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { FaultPlan } from '../support/faulty-log-file.js';
import { logEnd } from '../support/log-end.js';
import { serve } from '../support/http.js';

test('GET /health: ok through a write failure the log recovers from, 503 "failing" with the reason once acknowledged records are lost', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'liveness-'));
  const plan = new FaultPlan();
  // No probe on a timer: here only the next append shows the log writing again.
  const store = await openEmbeddedEventStore({ dataDir, openFile: plan.opener, recoveryIntervalMs: 3_600_000 });
  t.teardown(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const app = createApp({
    openApiDocument: buildOpenApiDocument(),
    logger: pino({ level: 'silent' }),
    authenticate: () => undefined,
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    checks: { event_store: () => store.checkHealth() },
    liveness: () => store.fatalError(),
    corsOrigins: [],
    bodyLimitBytes: 1024,
  });
  const { url } = await serve(t, app);
  const event = () => ({ id: randomUUID(), type: 'N', data: {}, metadata: {} });
  for (let i = 0; i < 3; i++) await store.appendToStream('s', [event()]);

  // A full disk: the log refuses the write, readiness says so, liveness does not (a restart would not help).
  plan.failNextWrite({ kind: 'error', code: 'ENOSPC', afterBytes: 5 });
  await t.throwsAsync(() => store.appendToStream('s', [event()]));
  t.is((await fetch(`${url}/health`)).status, 200);
  const notReady = await fetch(`${url}/ready`);
  t.is(notReady.status, 503);
  t.regex(
    ((await notReady.json()) as { checks: Record<string, string> }).checks['event_store'] ?? '',
    /^error: the event log cannot write since .*ENOSPC/,
  );
  await store.appendToStream('s', [event()]);
  t.is((await fetch(`${url}/ready`)).status, 200, 'ready again after the next write succeeds');

  // Acknowledged records cut from under the store: nothing but a person can mend that.
  await truncate(join(dataDir, LOG_FILE), (await logEnd(dataDir)) - 4);
  plan.failNextWrite({ kind: 'error', code: 'EIO', afterBytes: 0 });
  await t.throwsAsync(() => store.appendToStream('s', [event()]));
  const health = await fetch(`${url}/health`);
  t.is(health.status, 503);
  const body = (await health.json()) as { status: string; version: string; reason: string };
  t.is(body.status, 'failing');
  t.is(body.version, '1.1.0');
  t.regex(body.reason, /the log holds \d+ bytes, but its acknowledged records end at byte \d+/);
  t.is((await fetch(`${url}/ready`)).status, 503);
});
