import test from 'ava';
import { caller } from '../support/gateway-client.js';
import { eventually } from '../support/eventually.js';
import { startMockSlack } from '../support/mock-slack.js';
import { scriptedProviderConfig, startScriptedModel } from '../support/scripted-model.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-at-rest-000000001';
const SECRET = 'webhook-secret-at-rest';
const call = caller(OPERATOR);
const IDLE_MS = 10_000;

test('a gateway at rest appends nothing: 10 s idle after real work, 0 events', async (t) => {
  t.timeout(120_000);
  const model = await startScriptedModel();
  t.teardown(() => model.close());
  const slack = await startMockSlack(t, SECRET);
  // Every runner of the gateway: workspaces, agents on the real OpenCode, webhooks, deployments' timers.
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    opencode: scriptedProviderConfig(model.baseUrl),
    webhooks: { slack_url: slack.url },
    webhookSecret: SECRET,
  });
  const created = await call(gateway, 'POST', '/api/sessions', {
    category: 'platform',
    project: 'billing',
    repos: [{ name: 'api' }],
    task: { title: 'Fix typo in the footer', description: 'Copyrigth [write repos/api/hello.txt]' },
  });
  const { session_id: sessionId } = (await created.json()) as { session_id: string };
  await eventually(async () => {
    const messages = (await (await call(gateway, 'GET', `/api/sessions/${sessionId}/messages`)).json()) as {
      items: { role: string }[];
    };
    const view = (await (await call(gateway, 'GET', `/api/sessions/${sessionId}`)).json()) as { agent_status: string };
    return messages.items.some((entry) => entry.role === 'agent') && view.agent_status === 'idle' ? true : undefined;
  }, 'the agent replied and went idle');
  // Let the webhooks and the runners' last bookkeeping land, then watch the log stand still.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const [before] = await gateway.eventLog.store.readAll({ direction: 'backwards', maxCount: 1 });
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const appended = await gateway.eventLog.store.readAll({ fromPosition: before!.position + 1 });
  t.log(`${before!.position + 1} events after the work; ${appended.length} appended in ${IDLE_MS / 1000} s of rest`);
  t.deepEqual(
    appended.map((event) => `${event.stream} ${event.type}`),
    [],
  );
});
