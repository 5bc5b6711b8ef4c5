import * as t from 'io-ts';
import { defineEvent, jsonCodec, type EventOf } from '../events/domain-event.js';
import { streamNaming } from '../events/stream-name.js';

/** The gateway made (or made again) a lab namespace: only these can be listed and deleted through the API. */
const NamespaceCreated = defineEvent(
  'NamespaceCreated',
  jsonCodec(
    t.type({ name: t.string, project: t.string, url: t.string, deployment_id: t.string, created_at: t.string }),
  ),
);
/** The durable deadline of a deletion after N days; the deadline timer requests the deletion when it passes. */
const NamespaceDeletionScheduled = defineEvent(
  'NamespaceDeletionScheduled',
  jsonCodec(t.type({ name: t.string, scheduled_for: t.string, requested_by: t.string, requested_at: t.string })),
);
const NamespaceDeletionRequested = defineEvent(
  'NamespaceDeletionRequested',
  jsonCodec(t.type({ name: t.string, requested_by: t.string, requested_at: t.string })),
);
/** The cluster refused or failed the deletion; it is tried again at `retry_at` (a durable deadline) until it succeeds. */
const NamespaceDeletionFailed = defineEvent(
  'NamespaceDeletionFailed',
  jsonCodec(t.type({ name: t.string, reason: t.string, attempt: t.number, failed_at: t.string, retry_at: t.string })),
);
const NamespaceDeleted = defineEvent(
  'NamespaceDeleted',
  jsonCodec(t.type({ name: t.string, outcome: t.keyof({ deleted: null, absent: null }), deleted_at: t.string })),
);

export type NamespaceEvent =
  | EventOf<typeof NamespaceCreated>
  | EventOf<typeof NamespaceDeletionScheduled>
  | EventOf<typeof NamespaceDeletionRequested>
  | EventOf<typeof NamespaceDeletionFailed>
  | EventOf<typeof NamespaceDeleted>;

export const namespaceEventDefinitions = [
  NamespaceCreated,
  NamespaceDeletionScheduled,
  NamespaceDeletionRequested,
  NamespaceDeletionFailed,
  NamespaceDeleted,
] as const;

const namespaceStreams = streamNaming('namespace');
export const namespaceStream = namespaceStreams.name;
/** The lab namespace whose stream this is, if it is a namespace's. */
export const namespaceOf = namespaceStreams.idOf;
