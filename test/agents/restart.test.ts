import test from 'ava';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../support/eventually.js';
import { caller } from '../support/gateway-client.js';
import { makeRepo } from '../support/test-gateway.js';
import { scriptedProviderConfig, startScriptedModel } from '../support/scripted-model.js';

/**
 * The gateway (the real `npm start` entry point) SIGKILLed in the middle of an agent's turn. The
 * turn goes on in OpenCode; the next gateway stops the server the dead one left, starts its own on
 * the same state, reconciles, and records the turn's reply exactly once.
 */
const ENTRY = join(process.cwd(), 'src', 'main.ts');
const TOKEN = 'operator-token-0123456789';

const startGatewayProcess = async (env: Record<string, string>): Promise<{ child: ChildProcessByStdio<null, Readable, Readable>; url: string; output: () => string }> => {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], { env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env }, cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (let i = 0; i < 1200; i++) {
    const url = /listening on (http:\/\/[^\s"]+)/.exec(output)?.[1];
    if (url) return { child, url, output: () => output };
    if (child.exitCode !== null) throw new Error(`the gateway exited: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the gateway did not start: ${output}`);
};

const api = caller(TOKEN);

test('a gateway killed mid-turn loses no reply and records none twice', async (t) => {
  const model = await startScriptedModel();
  const dir = await mkdtemp(join(tmpdir(), 'agent-restart-'));
  const children: ChildProcessByStdio<null, Readable, Readable>[] = [];
  const outputs: (() => string)[] = [];
  t.teardown(async () => {
    const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
    for (const child of running) child.kill('SIGTERM');
    // A gateway that does not stop within 15 s is a bug: show what it said last, then kill it.
    const timer = setTimeout(() => {
      console.error('a gateway did not stop on SIGTERM:', outputs.map((output) => output().split('\n').slice(-8).join('\n')).join('\n----\n'));
      for (const child of running) child.kill('SIGKILL');
    }, 15_000);
    await Promise.all(running.map((child) => once(child, 'exit')));
    clearTimeout(timer);
    // A process the dead gateway started may still hold its output pipes open.
    for (const child of children) {
      child.stdout.destroy();
      child.stderr.destroy();
    }
    await model.close();
    await rm(dir, { recursive: true, force: true });
  });
  await makeRepo(join(dir, 'repos'), 'api');
  const env = { GATEWAY_DATA_DIR: dir, GATEWAY_WORKSPACE: dir, PORT: '0', GATEWAY_TOKENS: `ops:operator:${TOKEN}`, GATEWAY_OPENCODE_CONFIG: JSON.stringify(scriptedProviderConfig(model.baseUrl)) };

  const first = await startGatewayProcess(env);
  children.push(first.child);
  outputs.push(first.output);
  const created = (await (await api(first, 'POST', '/api/sessions', { category: 'platform', project: 'billing', repos: [{ name: 'api' }], task: { title: 'Fix typo in the footer', description: '[delay 3000]' } })).json()) as { session_id: string };
  const id = created.session_id;
  await eventually(async () => (model.requests() > 0 ? true : undefined), 'the turn reaching the model');
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  // The turn carries on in the OpenCode server the dead gateway left behind.
  await eventually(async () => (model.delayedReplies() > 0 ? true : undefined), 'the model answering');
  await new Promise((resolve) => setTimeout(resolve, 1000));

  const second = await startGatewayProcess(env);
  children.push(second.child);
  outputs.push(second.output);
  const reply = await eventually(async () => {
    const messages = (await (await api(second, 'GET', `/api/sessions/${id}/messages`)).json()) as { items: { role: string; text: string }[] };
    return messages.items.find((entry) => entry.role === 'agent');
  }, 'the reply recorded after the restart');
  t.is(reply.text, 'Done after a delay.');

  // Reconciliations keep running (every OpenCode event, every reconnect): still one reply.
  await api(second, 'POST', `/api/sessions/${id}/messages`, { text: 'Thanks, that is all.' });
  await eventually(async () => {
    const messages = (await (await api(second, 'GET', `/api/sessions/${id}/messages`)).json()) as { items: { role: string; text: string }[] };
    return messages.items.filter((entry) => entry.role === 'agent').length === 2 ? messages : undefined;
  }, 'the next turn answered by the new server');
  const messages = (await (await api(second, 'GET', `/api/sessions/${id}/messages`)).json()) as { items: { role: string; text: string }[] };
  t.deepEqual(
    messages.items.map((entry) => [entry.role, entry.text]),
    [
      ['agent', 'Done after a delay.'],
      ['user', 'Thanks, that is all.'],
      ['agent', 'Done: Thanks, that is all.'],
    ],
  );
});
