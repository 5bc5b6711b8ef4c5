import test from 'ava';
import { sessionStream } from '../../src/sessions/events.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { startTestGateway } from '../support/test-gateway.js';

/** The router as shipped: the configured labelled examples, checked by the signals, through the API. */
const OPERATOR = 'operator-token-0123456789';
const call = caller(OPERATOR);
const SHIPPED_EXAMPLES = ['config/routing-examples/development.yaml', 'config/routing-examples/tuning.yaml'];

type Analysis = { suggested: string; confidence: number; decided_by: string; reason: string };

test('with labelled examples configured, the analysis and new sessions are routed by them, confirmed by the gateway only when the signals agree', async (t) => {
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    repos: ['api'],
    opencode: { enabled: false },
    routing: { examples_files: SHIPPED_EXAMPLES },
  });
  const analyze = async (title: string, description = ''): Promise<Analysis> => {
    const response = await call(gateway, 'POST', '/api/routing/analyze', { title, description });
    t.is(response.status, 200);
    return (await response.json()) as Analysis;
  };
  const sure = await analyze('Fix the footer typo', 'Copyrigth should be Copyright.');
  t.like(sure, { suggested: 'builder', decided_by: 'examples' });
  t.true(sure.confidence >= 0.8, sure.reason);
  t.regex(sure.reason, /reads like the labelled examples of builder work.*and the signals agree/);
  const unsure = await analyze('Tidy things up');
  t.true(unsure.confidence < 0.8, unsure.reason);
  t.regex(unsure.reason, /so a person confirms/);
  t.like(await analyze('Fix SQL injection in the search endpoint'), { suggested: 'architect', decided_by: 'signals' });

  const open = async (title: string) =>
    (
      (await (
        await call(gateway, 'POST', '/api/sessions', {
          category: 'platform',
          project: title.length % 2 === 0 ? 'billing' : 'invoices',
          repos: [{ name: 'api' }],
          task: { title, description: '' },
        })
      ).json()) as { session_id: string }
    ).session_id;
  const confirmed = await waitForSessionStatus<{ status: string; route: { confirmed: string; confirmed_by: string } }>(
    call,
    gateway,
    await open('Fix the footer typo'),
    'active',
  );
  t.like(confirmed.route, { confirmed: 'builder', confirmed_by: 'gateway' });
  const waiting = await open('Tidy things up');
  await waitForSessionStatus(call, gateway, waiting, 'awaiting_route');
  const suggested = (await gateway.eventLog.readStream(sessionStream(waiting))).find(
    (stored) => stored.event.type === 'RouteSuggested',
  )!.event.data as { decided_by: string; awaiting_confirmation: boolean };
  t.like(suggested, { decided_by: 'examples', awaiting_confirmation: true });
});
