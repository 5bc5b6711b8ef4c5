import test from 'ava';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import { deploymentStream, type DeploymentEvent } from '../../src/deployments/events.js';
import { progressMessageOf } from '../../src/deployments/progress-sse.js';
import { until } from '../support/eventually.js';
import { startFakeKube } from '../support/fake-kube.js';
import { caller } from '../support/gateway-client.js';
import { labSession } from '../support/lab-session.js';
import { connectSse, type Frame } from '../support/sse-client.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const call = caller(OPERATOR);

const events = (frames: readonly Frame[]) => frames.filter((frame) => frame.event !== undefined);

test('progress SSE: clients that leave and come back mid-deployment get every event exactly once, in order, and the stream ends after complete', async (t) => {
  // Pods take a second to come up, so a client sees their state while it waits.
  const fake = await startFakeKube({ podDelayMs: 1000 });
  t.teardown(() => fake.close());
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR},grafana:viewer:${VIEWER}`,
    repos: ['api'],
    kubeconfig: fake.kubeconfig,
  });
  const session = await labSession(call, gateway, 'billing');
  const planned = (await (
    await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id })
  ).json()) as DeploymentView;
  const url = `${gateway.url}/api/deployments/${planned.deployment_id}/progress`;

  // The deployment stops at the workload while the first client is away.
  const held = fake.hold('PATCH Deployment', 'before');
  const first = await connectSse(url, VIEWER);
  t.is(first.response.headers['content-type'], 'text/event-stream');
  await until(() => first.frames.some((frame) => frame.retry === '2000'), 'retry: 2000 before any event');
  await call(gateway, 'POST', `/api/deployments/${planned.deployment_id}/confirm`, {});
  await until(
    () =>
      events(first.frames).some(
        (frame) => frame.event === 'step_complete' && JSON.parse(frame.data!).step === 'configmaps',
      ),
    'the configmaps step on the first client',
    30_000,
  );
  first.close();
  await held.reached;
  const seenFirst = events(first.frames);
  const lastId = seenFirst.at(-1)!.id!;

  // A second client joins from the start while the step is held, and leaves at once.
  const second = await connectSse(`${url}?from=0`, VIEWER);
  await until(() => events(second.frames).length > 0, 'the second client to catch up');
  second.close();

  held.release();
  const resumed = await connectSse(url, VIEWER, { 'last-event-id': lastId });
  await resumed.ended; // the server ends the stream after `complete`
  const seenAfter = events(resumed.frames);
  t.is(seenAfter.at(-1)!.event, 'complete');
  t.like(JSON.parse(seenAfter.at(-1)!.data!), {
    status: 'succeeded',
    url: 'https://billing.builder.lab.ctoaas.co',
    all_passing: false,
  });

  const history = await gateway.eventLog.readStream<DeploymentEvent>(deploymentStream(planned.deployment_id));
  const expected = history.flatMap((stored) => {
    const messages = progressMessageOf(stored.event);
    return messages === undefined
      ? []
      : [messages].flat().map((message) => ({
          id: String(stored.revision),
          event: message.event,
          data: JSON.stringify(message.data),
        }));
  });
  const received = [...seenFirst, ...seenAfter].map((frame) => ({
    id: frame.id,
    event: frame.event,
    data: frame.data,
  }));
  t.deepEqual(received, expected, 'every event once, in order, across the reconnection');
  t.deepEqual(
    expected.filter((frame) => frame.event === 'step_complete').map((frame) => JSON.parse(frame.data).step),
    ['namespace', 'rbac', 'configmaps', 'pvcs', 'manifests', 'ingress', 'pods_ready', 'tests'],
  );
  t.true(
    expected.some(
      (frame) =>
        frame.event === 'progress' &&
        JSON.parse(frame.data).step === 'pods_ready' &&
        /is Pending/.test(JSON.parse(frame.data).message),
    ),
    'a pod’s state is news',
  );

  // After the end: a client resuming past `complete` is told so at once; one from the start replays and ends.
  const late = await connectSse(url, VIEWER, { 'last-event-id': expected.at(-1)!.id });
  await late.ended;
  t.deepEqual(events(late.frames), []);
  const replay = await connectSse(url, VIEWER);
  await replay.ended;
  t.deepEqual(
    events(replay.frames).map((frame) => frame.id),
    expected.map((frame) => frame.id),
  );
  t.is(
    (await fetch(`${gateway.url}/api/deployments/nope/progress`, { headers: { authorization: `Bearer ${VIEWER}` } }))
      .status,
    404,
  );
  t.is((await fetch(url, { headers: { authorization: `Bearer ${VIEWER}`, 'last-event-id': 'x' } })).status, 400);
});
