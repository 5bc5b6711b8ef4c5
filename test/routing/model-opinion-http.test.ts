import test from 'ava';
import { sessionStream } from '../../src/sessions/events.js';
import { caller } from '../support/gateway-client.js';
import { scriptedProviderConfig, startScriptedModel } from '../support/scripted-model.js';
import { startTestGateway } from '../support/test-gateway.js';

/**
 * The model's second opinion through the shared OpenCode server (the real binary, the router
 * agent, a scripted model): right, wrong-shaped, slow and failing answers, through the API.
 */
const OPERATOR = 'operator-token-0123456789';
const call = caller(OPERATOR);

type Analysis = { suggested: string; decided_by: string; model_error?: string; reason: string };

test('POST /api/routing/analyze and new sessions take the model’s answer when it is right, and the signals’ otherwise', async (t) => {
  const model = await startScriptedModel();
  t.teardown(() => model.close());
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    opencode: scriptedProviderConfig(model.baseUrl),
    // Long enough for a cold OpenCode on a busy machine: the slow model has a test of its own.
    routing: { model_assist: 'always', model_timeout_ms: 60_000 },
  });
  const analyze = async (title: string): Promise<Analysis> => {
    const response = await call(gateway, 'POST', '/api/routing/analyze', { title, description: '' });
    t.is(response.status, 200);
    return (await response.json()) as Analysis;
  };
  const right = await analyze('Fix the footer typo [model-route pm]');
  t.like(right, { suggested: 'pm', decided_by: 'model' }, `the model's error: ${right.model_error}`);
  const garbage = await analyze('Fix the footer typo [model-garbage]');
  t.like(garbage, { suggested: 'builder', decided_by: 'signals' });
  t.regex(garbage.model_error ?? '', /not JSON/);
  const failing = await analyze('Fix the footer typo [error]');
  t.like(failing, { suggested: 'builder', decided_by: 'signals' });
  t.regex(failing.model_error ?? '', /failed/);
  const requests = model.requests();
  t.like(await analyze('Fix SQL injection in search [model-route builder]'), {
    suggested: 'architect',
    decided_by: 'signals',
  });
  t.is(model.requests(), requests, 'the security rule decided without asking the model');

  const created = (await (
    await call(gateway, 'POST', '/api/sessions', {
      category: 'platform',
      project: 'billing',
      repos: [{ name: 'api' }],
      task: { title: 'Tidy things up [model-route builder]', description: '' },
    })
  ).json()) as { session_id: string };
  const suggested = (await gateway.eventLog.readStream(sessionStream(created.session_id))).find(
    (stored) => stored.event.type === 'RouteSuggested',
  )!.event.data as { suggested: string; decided_by: string };
  t.like(suggested, { suggested: 'builder', decided_by: 'model' });
});

test('a slow model: the signals’ answer stands once model_timeout_ms has passed', async (t) => {
  const model = await startScriptedModel();
  t.teardown(() => model.close());
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    opencode: scriptedProviderConfig(model.baseUrl),
    routing: { model_assist: 'always', model_timeout_ms: 1500 },
  });
  const response = await call(gateway, 'POST', '/api/routing/analyze', {
    title: 'Fix the footer typo [delay 20000]',
    description: '',
  });
  const analysis = (await response.json()) as Analysis;
  t.like(analysis, { suggested: 'builder', decided_by: 'signals' });
  t.regex(analysis.model_error ?? '', /did not answer within 1500 ms/);
});
