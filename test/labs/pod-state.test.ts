import test from 'ava';
import { judgePod } from '../../src/labs/pod-state.js';

test('a pod is ready only when its Ready condition is true', (t) => {
  t.deepEqual(judgePod('app-1', { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }), {
    kind: 'ready',
  });
  t.deepEqual(judgePod('app-1', undefined), { kind: 'waiting', detail: 'pod app-1 is Pending' });
  t.deepEqual(
    judgePod('app-1', {
      phase: 'Pending',
      containerStatuses: [{ name: 'app', state: { waiting: { reason: 'ContainerCreating' } } }],
    }),
    { kind: 'waiting', detail: 'pod app-1 is Pending (ContainerCreating)' },
  );
});

test('what waiting cannot mend fails at once, in the kubelet’s or the scheduler’s words', (t) => {
  t.deepEqual(
    judgePod('app-1', {
      containerStatuses: [{ name: 'app', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } } }],
    }),
    { kind: 'failed', reason: 'container app of pod app-1: CrashLoopBackOff (back-off 40s)' },
  );
  t.deepEqual(
    judgePod('app-1', {
      containerStatuses: [
        {
          name: 'app',
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } },
          lastState: { terminated: { exitCode: 3, reason: 'Error' } },
        },
      ],
    }),
    { kind: 'failed', reason: 'container app of pod app-1: CrashLoopBackOff (back-off 10s); last exit code 3 (Error)' },
    'how it last ended, as kubectl describe says',
  );
  t.deepEqual(
    judgePod('app-1', {
      initContainerStatuses: [{ name: 'prepare-code', state: { waiting: { reason: 'ErrImagePull' } } }],
    }),
    { kind: 'failed', reason: 'init container prepare-code of pod app-1: ErrImagePull' },
  );
  t.deepEqual(
    judgePod('app-1', {
      conditions: [
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' },
      ],
    }),
    { kind: 'failed', reason: 'pod app-1 cannot be scheduled: 0/3 nodes are available' },
  );
  // Not yet scheduled for a passing reason is still waiting.
  t.like(judgePod('app-1', { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }), {
    kind: 'waiting',
  });
});
