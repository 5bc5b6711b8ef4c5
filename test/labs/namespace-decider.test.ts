import test from 'ava';
import { namespaceDecider } from '../../src/labs/decider.js';
import type { NamespaceEvent } from '../../src/labs/events.js';
import { deciderSpec } from '../support/decider-spec.js';

const now = new Date('2030-01-01T10:00:00.000Z');
const at = now.toISOString();
const spec = deciderSpec(namespaceDecider);

const created: NamespaceEvent = {
  type: 'NamespaceCreated',
  data: {
    name: 'billing-lab',
    project: 'billing',
    url: 'https://billing.lab.example.com',
    deployment_id: 'd-1',
    created_at: at,
  },
};
const scheduled: NamespaceEvent = {
  type: 'NamespaceDeletionScheduled',
  data: { name: 'billing-lab', scheduled_for: '2030-01-03T10:00:00.000Z', requested_by: 'ops', requested_at: at },
};
const requested: NamespaceEvent = {
  type: 'NamespaceDeletionRequested',
  data: { name: 'billing-lab', requested_by: 'ops', requested_at: at },
};
const deleted: NamespaceEvent = {
  type: 'NamespaceDeleted',
  data: { name: 'billing-lab', outcome: 'deleted', deleted_at: at },
};
const record = {
  type: 'RecordNamespaceCreated',
  name: 'billing-lab',
  project: 'billing',
  url: 'https://billing.lab.example.com',
  deploymentId: 'd-1',
  now,
} as const;

test('the first deployment into a namespace records it; later ones change nothing; one made again after its deletion is recorded again', (t) => {
  spec.given([]).when(record).then(t, [created]);
  spec
    .given([created])
    .when({ ...record, deploymentId: 'd-2' })
    .then(t, []);
  spec
    .given([created, requested, deleted])
    .when({ ...record, deploymentId: 'd-3' })
    .then(t, [{ ...created, data: { ...created.data, deployment_id: 'd-3' } }]);
  spec.given([created, requested]).when(record).thenFails(t, {
    kind: 'conflict',
    state: 'deleting',
    detail: 'namespace billing-lab is being deleted; deploy again once it is gone',
  });
});

test('a deletion after N days is a durable date; the timer firing before it changes nothing', (t) => {
  spec
    .given([created])
    .when({ type: 'ScheduleNamespaceDeletion', afterDays: 2, requestedBy: 'ops', now })
    .then(t, [scheduled]);
  spec
    .given([created, scheduled])
    .when({
      type: 'RequestNamespaceDeletion',
      requestedBy: 'timer',
      due: true,
      now: new Date('2030-01-03T09:59:59.999Z'),
    })
    .then(t, []);
  spec
    .given([created, scheduled])
    .when({
      type: 'RequestNamespaceDeletion',
      requestedBy: 'timer',
      due: true,
      now: new Date('2030-01-03T10:00:00.000Z'),
    })
    .then(t, [
      {
        type: 'NamespaceDeletionRequested',
        data: { name: 'billing-lab', requested_by: 'timer', requested_at: '2030-01-03T10:00:00.000Z' },
      },
    ]);
  // A namespace nobody scheduled is never deleted by the timer.
  spec.given([created]).when({ type: 'RequestNamespaceDeletion', requestedBy: 'timer', due: true, now }).then(t, []);
});

test('deleting now, twice, deletes once; only what exists can be deleted', (t) => {
  spec.given([created]).when({ type: 'RequestNamespaceDeletion', requestedBy: 'ops', now }).then(t, [requested]);
  spec.given([created, requested]).when({ type: 'RequestNamespaceDeletion', requestedBy: 'ops', now }).then(t, []);
  spec
    .given([created, requested])
    .when({ type: 'ScheduleNamespaceDeletion', afterDays: 1, requestedBy: 'ops', now })
    .thenFails(t, { kind: 'conflict', state: 'deleting', detail: 'namespace billing-lab is being deleted already' });
  spec.given([created, requested]).when({ type: 'RecordNamespaceDeleted', outcome: 'deleted', now }).then(t, [deleted]);
  spec
    .given([created, requested, deleted])
    .when({ type: 'RecordNamespaceDeleted', outcome: 'deleted', now })
    .thenFails(t, { kind: 'not_found', detail: 'no lab namespace of that name' });
  spec
    .given([])
    .when({ type: 'RequestNamespaceDeletion', requestedBy: 'ops', now })
    .thenFails(t, { kind: 'not_found', detail: 'no lab namespace of that name' });
  spec
    .given([created, requested, deleted])
    .when({ type: 'ScheduleNamespaceDeletion', afterDays: 1, requestedBy: 'ops', now })
    .thenFails(t, { kind: 'not_found', detail: 'no lab namespace of that name' });
});

test('a failed deletion is recorded with its reason and a growing pause; the timer tries again only when the pause is over; success ends it', (t) => {
  const failure = (attempt: number, failedAt: Date, retryAt: string): NamespaceEvent => ({
    type: 'NamespaceDeletionFailed',
    data: {
      name: 'billing-lab',
      reason: 'HTTP 403: forbidden',
      attempt,
      failed_at: failedAt.toISOString(),
      retry_at: retryAt,
    },
  });
  const first = failure(1, now, '2030-01-01T10:00:10.000Z');
  spec
    .given([created, requested])
    .when({ type: 'RecordNamespaceDeletionFailed', reason: 'HTTP 403: forbidden', now })
    .then(t, [first]);
  spec
    .given([created, requested, first])
    .when({ type: 'RetryNamespaceDeletion', now: new Date('2030-01-01T10:00:09.999Z') })
    .then(t, []);
  const again: NamespaceEvent = {
    type: 'NamespaceDeletionRequested',
    data: { name: 'billing-lab', requested_by: 'timer', requested_at: '2030-01-01T10:00:10.000Z' },
  };
  spec
    .given([created, requested, first])
    .when({ type: 'RetryNamespaceDeletion', now: new Date('2030-01-01T10:00:10.000Z') })
    .then(t, [again]);
  // Tried again and failed again: twice the pause.
  const secondAt = new Date('2030-01-01T10:00:11.000Z');
  spec
    .given([created, requested, first, again])
    .when({ type: 'RecordNamespaceDeletionFailed', reason: 'HTTP 403: forbidden', now: secondAt })
    .then(t, [failure(2, secondAt, '2030-01-01T10:00:31.000Z')]);
  // While a retry is under way the timer does not ask again.
  spec
    .given([created, requested, first, again])
    .when({ type: 'RetryNamespaceDeletion', now: new Date('2030-01-01T11:00:00.000Z') })
    .then(t, []);
  spec
    .given([created, requested, first, again])
    .when({ type: 'RecordNamespaceDeleted', outcome: 'deleted', now })
    .then(t, [deleted]);
  spec.given([created]).when({ type: 'RetryNamespaceDeletion', now }).then(t, []);
  spec.given([created]).when({ type: 'RecordNamespaceDeletionFailed', reason: 'x', now }).then(t, []);
});
