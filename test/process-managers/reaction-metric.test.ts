import test from 'ava';
import { GatewayMetrics } from '../../src/api/metrics.js';
import { processManagerEventDefinitions } from '../../src/process-managers/events.js';
import { ProcessManagerRunner } from '../../src/process-managers/runner.js';
import { openTestEventLog, testContext } from '../support/test-store.js';
import { orderEventDefinitions, ordersProcessManager, type ChargeEffect } from './orders.js';
import { counterEventDefinitions } from '../support/counter.js';

test('a reaction that fails for good is counted in gateway_reaction_failures_total by process manager', async (t) => {
  const { eventLog } = await openTestEventLog(t, [
    ...orderEventDefinitions,
    ...counterEventDefinitions,
    ...processManagerEventDefinitions,
  ]);
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const runner = new ProcessManagerRunner<ChargeEffect>({
    eventLog,
    processManager: ordersProcessManager,
    effects: { charge: async () => Promise.reject(new Error('card declined')) },
    retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1, factor: 1 },
    onReaction: metrics.reportReaction,
  });
  t.teardown(() => runner.stop());
  await runner.start();
  const { position } = await eventLog.append(
    'order-o1',
    [{ type: 'OrderPlaced', data: { order_id: 'o1', amount: 5 } }],
    { expectedRevision: 'no_stream', context: testContext() },
  );
  await runner.waitForPosition(position, 10_000);
  t.regex(await metrics.registry.metrics(), /^gateway_reaction_failures_total\{process_manager="orders"\} 1$/m);
});
