import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../support/eventually.js';
import { caller } from '../support/gateway-client.js';
import { gatewayProcesses } from '../support/gateway-process.js';
import { makeRepo } from '../support/test-gateway.js';
import { scriptedProviderConfig, startScriptedModel } from '../support/scripted-model.js';

/**
 * The gateway (the real `npm start` entry point) SIGKILLed in the middle of an agent's turn. The
 * turn goes on in OpenCode; the next gateway stops the server the dead one left, starts its own on
 * the same state, reconciles, and records the turn's reply exactly once.
 */
const TOKEN = 'operator-token-0123456789';

const api = caller(TOKEN);

test('a gateway killed mid-turn loses no reply and records none twice', async (t) => {
  const model = await startScriptedModel();
  const dir = await mkdtemp(join(tmpdir(), 'agent-restart-'));
  // Teardowns run last first: the gateways stop before their folder goes.
  t.teardown(async () => {
    await model.close();
    await rm(dir, { recursive: true, force: true });
  });
  const startGatewayProcess = gatewayProcesses(t);
  await makeRepo(join(dir, 'repos'), 'api');
  const env = {
    GATEWAY_DATA_DIR: dir,
    GATEWAY_WORKSPACE: dir,
    PORT: '0',
    GATEWAY_TOKENS: `ops:operator:${TOKEN}`,
    GATEWAY_OPENCODE_CONFIG: JSON.stringify(scriptedProviderConfig(model.baseUrl)),
  };

  const first = await startGatewayProcess(env);
  const created = (await (
    await api(first, 'POST', '/api/sessions', {
      category: 'platform',
      project: 'billing',
      repos: [{ name: 'api' }],
      task: { title: 'Fix typo in the footer', description: '[delay 3000]' },
    })
  ).json()) as { session_id: string };
  const id = created.session_id;
  await eventually(async () => (model.requests() > 0 ? true : undefined), 'the turn reaching the model');
  await first.kill();
  // The turn carries on in the OpenCode server the dead gateway left behind.
  await eventually(async () => (model.delayedReplies() > 0 ? true : undefined), 'the model answering');
  await new Promise((resolve) => setTimeout(resolve, 1000));

  const second = await startGatewayProcess(env);
  const reply = await eventually(async () => {
    const messages = (await (await api(second, 'GET', `/api/sessions/${id}/messages`)).json()) as {
      items: { role: string; text: string }[];
    };
    return messages.items.find((entry) => entry.role === 'agent');
  }, 'the reply recorded after the restart');
  t.is(reply.text, 'Done after a delay.');

  // Reconciliations keep running (every OpenCode event, every reconnect): still one reply.
  await api(second, 'POST', `/api/sessions/${id}/messages`, { text: 'Thanks, that is all.' });
  await eventually(async () => {
    const messages = (await (await api(second, 'GET', `/api/sessions/${id}/messages`)).json()) as {
      items: { role: string; text: string }[];
    };
    return messages.items.filter((entry) => entry.role === 'agent').length === 2 ? messages : undefined;
  }, 'the next turn answered by the new server');
  const messages = (await (await api(second, 'GET', `/api/sessions/${id}/messages`)).json()) as {
    items: { role: string; text: string }[];
  };
  t.deepEqual(
    messages.items.map((entry) => [entry.role, entry.text]),
    [
      ['agent', 'Done after a delay.'],
      ['user', 'Thanks, that is all.'],
      ['agent', 'Done: Thanks, that is all.'],
    ],
  );
});
