import test from 'ava';
import { join } from 'node:path';
import { caller } from '../support/gateway-client.js';
import { mountSmallDisk, resizeSmallDisk, SMALL_DISK_SKIP_REASON, smallDisksAvailable } from '../support/small-disk.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-full-disk-000001';
const call = caller(OPERATOR);

const onSmallDisk = smallDisksAvailable ? test : test.skip;
if (!smallDisksAvailable) console.log(SMALL_DISK_SKIP_REASON);

const sessionBody = (n: number) => ({
  category: 'billing',
  project: `p${n}`,
  repos: [{ name: 'api' }],
  task: { title: `Add endpoint ${n}`, description: 'A small change' },
});

const readiness = async (url: string) => {
  const response = await fetch(`${url}/ready`);
  return {
    status: response.status,
    body: (await response.json()) as { status: string; checks: Record<string, string> },
  };
};

onSmallDisk(
  'the log fills a real 256 KiB disk: every 202 survives (also a restart), /ready says why, and the gateway serves again within seconds of space returning, without a restart',
  async (t) => {
    t.timeout(240_000);
    const disk = mountSmallDisk(t, 256 * 1024);
    let gateway = await startTestGateway(t, {
      tokens: `slack:operator:${OPERATOR}`,
      repos: ['api'],
      eventsDir: join(disk, 'events'),
      server: { rate_limit_per_minute: 1_000_000 },
    });

    // Sessions until the disk is full, as an operator saw it happen.
    // A smaller write (the process managers' own) may still fit after a refusal, and the store then
    // serves again, rightly: the disk is full once a refusal finds /ready saying so.
    const acknowledged: string[] = [];
    let refusal: Response | undefined;
    let full: Awaited<ReturnType<typeof readiness>> | undefined;
    for (let n = 0; n < 5000 && !full; n++) {
      const response = await call(gateway, 'POST', '/api/sessions', sessionBody(n));
      if (response.status === 202) {
        acknowledged.push(((await response.json()) as { session_id: string }).session_id);
        continue;
      }
      refusal = response;
      t.is(refusal.status, 503);
      t.truthy(refusal.headers.get('retry-after'));
      t.like(await refusal.json(), { status: 503, detail: 'the event store is unavailable' });
      const ready = await readiness(gateway.url);
      if (ready.status !== 200) full = ready;
    }
    t.truthy(refusal, 'the disk filled up');
    t.log(`${acknowledged.length} sessions acknowledged before the 256 KiB disk was full`);
    t.true(acknowledged.length > 10);

    t.is(full?.status, 503);
    if (!full) return;
    t.regex(full.body.checks['event_store'] ?? '', /^error: the event log cannot write since .*ENOSPC/);
    t.is((await fetch(`${gateway.url}/health`)).status, 200, 'liveness stays ok: a restart would not make space');
    for (const id of acknowledged)
      t.is(
        (await call(gateway, 'GET', `/api/sessions/${id}`)).status,
        200,
        `acknowledged session ${id} reads while the disk is full`,
      );

    // The operator grows the volume; nobody restarts anything.
    resizeSmallDisk(disk, 64 * 1024 * 1024);
    const spaceBack = Date.now();
    while ((await readiness(gateway.url)).status !== 200 && Date.now() - spaceBack < 30_000)
      await new Promise((resolve) => setTimeout(resolve, 25));
    const recoveryMs = Date.now() - spaceBack;
    t.log(`/ready was 200 again ${recoveryMs} ms after space returned, with no append and no restart`);
    t.is((await readiness(gateway.url)).status, 200);
    const after = await call(gateway, 'POST', '/api/sessions', sessionBody(9999));
    t.is(after.status, 202, 'a new session is accepted again');
    acknowledged.push(((await after.json()) as { session_id: string }).session_id);

    // Work under way finishes: every acknowledged session gets its workspace (or says why not).
    const finishing = Date.now();
    for (const id of acknowledged) {
      let status = 'initializing';
      for (let i = 0; i < 1200 && status === 'initializing'; i++) {
        status = ((await (await call(gateway, 'GET', `/api/sessions/${id}`)).json()) as { status: string }).status;
        if (status === 'initializing') await new Promise((resolve) => setTimeout(resolve, 50));
      }
      t.not(status, 'initializing', `session ${id} got past initializing once the disk had room`);
    }

    t.log(`every session past initializing ${Date.now() - finishing} ms later`);
    gateway = await gateway.restart();
    for (const id of acknowledged)
      t.is(
        (await call(gateway, 'GET', `/api/sessions/${id}`)).status,
        200,
        `acknowledged session ${id} is there after a restart`,
      );
    const verify = (await (await call(gateway, 'GET', '/api/audit/verify')).json()) as {
      ok: boolean;
      events_checked: number;
    };
    t.true(verify.ok, 'every stream’s hash chain is whole');
  },
);
