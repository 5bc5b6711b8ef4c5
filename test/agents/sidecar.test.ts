import test from 'ava';
import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { basicAuthorization } from '../../src/agents/opencode-server.js';
import { sessionStream } from '../../src/sessions/events.js';
import { freePort } from '../../src/shared/free-port.js';
import { eventually } from '../support/eventually.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { scriptedProviderConfig, startScriptedModel } from '../support/scripted-model.js';
import { startTestGateway } from '../support/test-gateway.js';

/**
 * OpenCode as k8s/ runs it: a server the gateway does not start (the sidecar), configured by the
 * file `src/opencode-config.ts` writes (the init container), its own user where the test runs as
 * root (uid 65534, sharing only the gateway's group, as uid 1001 shares group 1000 in the pod)
 * on a read-only root file system, reached over HTTP at `opencode.url` with its password.
 */
const OPERATOR = 'operator-token-0123456789';
const call = caller(OPERATOR);
const asRoot = process.getuid?.() === 0;
// The pod's arrangement: another uid, the gateway's group, files made group-writable (GATEWAY_GROUP_WRITABLE).
const SIDECAR_USER = asRoot ? { uid: 65534, gid: process.getgid!() } : undefined;

const startSidecar = async (dir: string, configFile: string, password: string) => {
  const state = join(dir, 'opencode');
  mkdirSync(state, { recursive: true });
  if (SIDECAR_USER) chownSync(state, SIDECAR_USER.uid, SIDECAR_USER.gid);
  const port = await freePort();
  const serve = [resolve('node_modules/.bin/opencode'), 'serve', '--port', String(port), '--hostname', '127.0.0.1'];
  // As root, the pod's readOnlyRootFilesystem: a mount namespace whose root is read-only but for
  // /tmp (the pod's emptyDir, and here where the volumes are), then the sidecar's own user.
  const [program, ...args] = SIDECAR_USER
    ? [
        'unshare',
        '--mount',
        '--',
        'sh',
        '-c',
        'uid=$1 gid=$2; shift 2; mount --make-rprivate / && mount --bind /tmp /tmp && mount -o remount,bind,ro / && exec setpriv --reuid "$uid" --regid "$gid" --clear-groups -- "$@"',
        'sidecar',
        String(SIDECAR_USER.uid),
        String(SIDECAR_USER.gid),
        ...serve,
      ]
    : serve;
  const child: ResultPromise = execa(program!, args, {
    env: {
      PATH: process.env['PATH'],
      HOME: join(state, 'home'),
      XDG_DATA_HOME: join(state, 'data'),
      XDG_CONFIG_HOME: join(state, 'config'),
      XDG_CACHE_HOME: join(state, 'cache'),
      XDG_STATE_HOME: join(state, 'state'),
      OPENCODE_CONFIG: configFile,
      OPENCODE_SERVER_PASSWORD: password,
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      OPENCODE_ENABLE_QUESTION_TOOL: '1',
    },
    extendEnv: false,
    reject: false,
  });
  return { url: `http://127.0.0.1:${port}`, child };
};

test('the gateway drives an OpenCode it does not run, configured by opencode-config, over opencode.url', async (t) => {
  const model = await startScriptedModel();
  t.teardown(() => model.close());
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The sidecar's user must reach what it is given, as in the pod.
  if (asRoot) chmodSync(dir, 0o770);
  const configFile = join(dir, 'opencode.json');
  const written = await execa('node', ['--import', 'tsx', 'src/opencode-config.ts', configFile], {
    env: { GATEWAY_OPENCODE_CONFIG: JSON.stringify(scriptedProviderConfig(model.baseUrl)) },
  });
  t.regex(written.stdout, /wrote .*opencode\.json/);
  const content = JSON.parse(readFileSync(configFile, 'utf8')) as { agent: Record<string, unknown>; model: string };
  t.deepEqual(Object.keys(content.agent).sort(), ['architect', 'builder', 'party-mode', 'pm', 'router']);
  t.is(content.model, 'local/scripted');

  const password = randomBytes(18).toString('base64url');
  const sidecar = await startSidecar(dir, configFile, password);
  t.teardown(() => void sidecar.child.kill('SIGKILL'));
  process.umask(0o002); // what GATEWAY_GROUP_WRITABLE does, in this test's process
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    // As in the pod, where both containers read GATEWAY_OPENCODE_CONFIG: /ready tells from it whether a model is configured.
    opencode: scriptedProviderConfig(model.baseUrl),
    openCodeServer: { url: sidecar.url, password },
    // The file system must hold, not OpenCode's permissions: the agent may try anything.
    permissionPolicy: 'allow',
    // The builders on the volume the two share (the pod's gateway-workspace), the rest the gateway's own.
    workspace: { group_writable: true, base_path: join(dir, '.builders') },
  });
  t.is(gateway.agents!.server.pid, undefined, 'the gateway runs no OpenCode of its own');
  const ready = await eventually(async () => {
    const body = (await (await fetch(`${gateway.url}/ready`)).json()) as { checks?: Record<string, string> };
    return body.checks?.['opencode'] === 'ok' ? body : undefined;
  }, 'the sidecar reported ready');
  t.is(ready.checks!['opencode'], 'ok');

  const created = await call(gateway, 'POST', '/api/sessions', {
    category: 'platform',
    project: 'billing',
    repos: [{ name: 'api' }],
    task: { title: 'Fix typo in the footer', description: 'Please. [write repos/api/hello.txt]' },
  });
  const session = await waitForSessionStatus<{ session_id: string; workspace_path: string; status: string }>(
    call,
    gateway,
    ((await created.json()) as { session_id: string }).session_id,
    'active',
  );
  const written2 = join(session.workspace_path, 'repos', 'api', 'hello.txt');
  const turn = await eventually(
    async () => {
      const events = await gateway.eventLog.readStream(sessionStream(session.session_id));
      return events.find((stored) => ['AgentReplied', 'AgentTurnFailed'].includes(stored.event.type));
    },
    'the agent replied',
    100_000,
  ).catch(async (error: unknown) => {
    // What the session recorded, and what OpenCode says of its sessions, for the one reading the failure.
    const events = await gateway.eventLog.readStream(sessionStream(session.session_id));
    // A sidecar that does not answer must not hide the failure being reported.
    const status = await fetch(`${sidecar.url}/session/status`, {
      headers: { authorization: basicAuthorization(password) },
    })
      .then((response) => response.text())
      .catch(String);
    const types = events.map((stored) => stored.event.type).join(', ');
    throw new Error(
      `${String(error)}; the session recorded ${types}; OpenCode's status: ${status}; model requests: ${model.requests()}`,
    );
  });
  t.is(turn.event.type, 'AgentReplied', JSON.stringify(turn.event.data));
  t.is(readFileSync(written2, 'utf8'), 'written by scripted model\n');
  if (SIDECAR_USER) t.is(statSync(written2).uid, SIDECAR_USER.uid, "the sidecar's user wrote it");

  // A second turn: the agent's shell finds the root file system read-only, and its folders writable.
  const probe = 'touch /usr/probe 2>/dev/null && echo root-writable > probe.txt || echo root-read-only > probe.txt';
  await call(gateway, 'POST', `/api/sessions/${session.session_id}/messages`, {
    text: `Check [bash ${Buffer.from(probe).toString('base64url')}]`,
  });
  const probed = join(session.workspace_path, 'probe.txt');
  // The shell creates the file before it writes the line: wait for the line, not the file.
  const answer = await eventually(
    async () => (existsSync(probed) ? readFileSync(probed, 'utf8').trim() || undefined : undefined),
    'the probe to run',
  );
  t.is(answer, SIDECAR_USER ? 'root-read-only' : 'root-writable');

  // The password is the only way in: the gateway's requests carry it, anyone else's are refused.
  t.is((await fetch(`${sidecar.url}/global/health`)).status, 401);

  // The sidecar stops answering: /ready says so; the gateway itself keeps serving.
  sidecar.child.kill('SIGKILL');
  await sidecar.child;
  const down = await eventually(async () => {
    const response = await fetch(`${gateway.url}/ready`);
    const body = (await response.json()) as { status: string; checks?: Record<string, string> };
    return body.checks?.['opencode'] !== 'ok' ? { status: response.status, body } : undefined;
  }, 'the sidecar reported down');
  t.is(down.status, 200, 'OpenCode down does not take the API out of its Service');
  t.like(down.body, { status: 'degraded' });
  t.regex(down.body.checks?.['opencode'] ?? '', /^error: /);
});
