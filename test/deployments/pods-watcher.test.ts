import test from 'ava';
import { PodsWatcher, type WaitingLab } from '../../src/deployments/pods-watcher.js';
import { deploymentEventDefinitions } from '../../src/deployments/events.js';
import type { LabCluster } from '../../src/labs/cluster.js';
import { until } from '../support/eventually.js';
import { openTestEventLog, testContext } from '../support/test-store.js';

/** A cluster that only records which labs are watched; no pods ever say anything. */
const watchingCluster = () => {
  const watched: string[] = [];
  const stopped: string[] = [];
  const cluster = {
    watchPods: (namespace: string) => {
      watched.push(namespace);
      return { stop: () => void stopped.push(namespace) };
    },
  } as unknown as LabCluster;
  return { cluster, watched, stopped };
};

const HOUR = 3_600_000;

test('a lab that reaches pods_ready is watched as soon as the views show it, not at the next interval; one that stops waiting is let go', async (t) => {
  const { eventLog } = await openTestEventLog(t, deploymentEventDefinitions);
  const { cluster, watched, stopped } = watchingCluster();
  let waiting: WaitingLab[] = [];
  const viewsAsked: number[] = [];
  const watcher = new PodsWatcher({
    eventLog,
    cluster,
    intervalMs: HOUR,
    waiting: () => waiting,
    viewsAt: async (position) => void viewsAsked.push(position),
  });
  watcher.start();
  t.teardown(() => watcher.stop());
  t.deepEqual(watched, [], 'nobody waits yet');

  waiting = [{ deploymentId: 'd-1', namespace: 'alpha-lab', selector: 'app=alpha' }];
  const started = await eventLog.append(
    'deployment-d-1',
    [
      {
        type: 'DeploymentStepStarted',
        data: {
          step: 'pods_ready',
          message: 'Waiting for the pods to be ready',
          started_at: '2030-01-01T00:00:00.000Z',
        },
      },
    ],
    { expectedRevision: 'any', context: testContext() },
  );
  await until(() => watched.length === 1, 'the lab to be watched');
  t.deepEqual(watched, ['alpha-lab']);
  t.deepEqual(viewsAsked, [started.position], 'after the views included the event');

  // Another step starting is no reason to look again; the next pods_ready is.
  waiting = [];
  await eventLog.append(
    'deployment-d-2',
    [
      {
        type: 'DeploymentStepStarted',
        data: { step: 'ingress', message: 'Opening the HTTPS ingress', started_at: '2030-01-01T00:00:00.000Z' },
      },
    ],
    { expectedRevision: 'any', context: testContext() },
  );
  await eventLog.append(
    'deployment-d-3',
    [
      {
        type: 'DeploymentStepStarted',
        data: {
          step: 'pods_ready',
          message: 'Waiting for the pods to be ready',
          started_at: '2030-01-01T00:00:00.000Z',
        },
      },
    ],
    { expectedRevision: 'any', context: testContext() },
  );
  await until(() => stopped.length === 1, 'the lab that no longer waits to be let go');
  t.deepEqual(stopped, ['alpha-lab']);
  t.is(viewsAsked.length, 2, 'only pods_ready steps wake the watcher');
});

test('without the views to wait on, a lab is watched at the next interval', async (t) => {
  const { eventLog } = await openTestEventLog(t, deploymentEventDefinitions);
  const { cluster, watched } = watchingCluster();
  let waiting: WaitingLab[] = [];
  const watcher = new PodsWatcher({ eventLog, cluster, intervalMs: 100, waiting: () => waiting });
  watcher.start();
  t.teardown(() => watcher.stop());
  waiting = [{ deploymentId: 'd-1', namespace: 'alpha-lab', selector: 'app=alpha' }];
  await until(() => watched.length === 1, 'the lab to be watched');
  t.deepEqual(watched, ['alpha-lab']);
});
