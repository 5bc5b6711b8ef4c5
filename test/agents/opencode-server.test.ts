import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openCodeServerEventDefinitions, OPENCODE_SERVER_STREAM } from '../../src/agents/events.js';
import { OpenCodeServer } from '../../src/agents/opencode-server.js';
import { scriptedProviderConfig, startScriptedModel } from '../support/scripted-model.js';
import { until } from '../support/eventually.js';
import { openTestEventLog } from '../support/test-store.js';

const CLI = join(process.cwd(), 'node_modules', '.bin', 'opencode');

test('the real opencode serve starts behind a random password, is restarted after it dies (recorded), and stops', async (t) => {
  const model = await startScriptedModel();
  const stateDir = await mkdtemp(join(tmpdir(), 'opencode-state-'));
  t.teardown(async () => {
    await model.close();
    await rm(stateDir, { recursive: true, force: true });
  });
  const { eventLog } = await openTestEventLog(t, openCodeServerEventDefinitions);
  const server = new OpenCodeServer({
    cliPath: CLI,
    stateDir,
    configContent: { ...scriptedProviderConfig(model.baseUrl) },
    eventLog,
    logger: pino({ level: 'silent' }),
    initialBackoffMs: 100,
  });
  t.teardown(() => server.stop());
  await server.start();
  const first = server.endpoint!;
  t.regex(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  await t.notThrowsAsync(() => server.health());
  t.is((await fetch(`${first.url}/global/health`)).status, 401, 'without the password it answers nothing');

  process.kill(server.pid!, 'SIGKILL');
  await until(
    () => server.endpoint !== undefined && server.endpoint.url !== first.url,
    'OpenCode restarted on a new port',
    30_000,
  );
  await t.notThrowsAsync(() => server.health());
  const history = (await eventLog.readStream(OPENCODE_SERVER_STREAM)).map((stored) => stored.event.type);
  // Killed, then started again; on a loaded machine a restart attempt may fail first, and is recorded and retried.
  t.deepEqual(history.slice(0, 2), ['OpenCodeServerStarted', 'OpenCodeServerExited']);
  t.is(history.at(-1), 'OpenCodeServerStarted');
  t.true(
    history.slice(2, -1).every((type) => type === 'OpenCodeServerExited'),
    history.join(', '),
  );
  const [, exited] = await eventLog.readStream(OPENCODE_SERVER_STREAM);
  t.like(exited!.event.data, { signal: 'SIGKILL', restart_in_ms: 100 });

  const pid = server.pid!;
  await server.stop();
  t.is(server.endpoint, undefined);
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the process is gone');
  await t.throwsAsync(() => server.health(), { message: /not running/ });
});

test('a binary that cannot start is a clear error', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'opencode-state-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const { eventLog } = await openTestEventLog(t, openCodeServerEventDefinitions);
  const server = new OpenCodeServer({
    cliPath: join(stateDir, 'no-opencode'),
    stateDir,
    configContent: {},
    eventLog,
    logger: pino({ level: 'silent' }),
  });
  t.teardown(() => server.stop());
  await t.throwsAsync(() => server.start(), { message: /OpenCode exited before it was ready/ });
});
