import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from '../commands/decider.js';
import { conflict, notFound, type DomainError } from '../commands/domain-error.js';
import type { NamespaceEvent } from './namespace-events.js';

interface NamespaceFacts {
  readonly name: string;
  readonly project: string;
  readonly url: string;
}

/** A lab namespace: live (perhaps with a deletion date), being deleted, or deleted (and perhaps made again later). */
export type LabNamespace =
  | { readonly status: 'none' }
  | ({ readonly status: 'live'; readonly scheduledFor: string | null } & NamespaceFacts)
  | ({ readonly status: 'deleting' } & NamespaceFacts)
  | ({ readonly status: 'deleted' } & NamespaceFacts);

export type NamespaceCommand =
  | { readonly type: 'RecordNamespaceCreated'; readonly name: string; readonly project: string; readonly url: string; readonly deploymentId: string; readonly now: Date }
  | { readonly type: 'ScheduleNamespaceDeletion'; readonly afterDays: number; readonly requestedBy: string; readonly now: Date }
  /** Now, by a person; or by the deadline timer, which passes `due` and is ignored before the date. */
  | { readonly type: 'RequestNamespaceDeletion'; readonly requestedBy: string; readonly due?: boolean; readonly now: Date }
  | { readonly type: 'RecordNamespaceDeleted'; readonly outcome: 'deleted' | 'absent'; readonly now: Date };

export const evolveNamespace = (state: LabNamespace, event: NamespaceEvent): LabNamespace => {
  switch (event.type) {
    case 'NamespaceCreated':
      return { status: 'live', name: event.data.name, project: event.data.project, url: event.data.url, scheduledFor: null };
    case 'NamespaceDeletionScheduled':
      return state.status === 'live' ? { ...state, scheduledFor: event.data.scheduled_for } : state;
    case 'NamespaceDeletionRequested':
      return state.status === 'none' ? state : { status: 'deleting', name: state.name, project: state.project, url: state.url };
    case 'NamespaceDeleted':
      return state.status === 'none' ? state : { status: 'deleted', name: state.name, project: state.project, url: state.url };
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
};

const DAY_MS = 86_400_000;
const ok = (...events: NamespaceEvent[]): E.Either<DomainError, readonly NamespaceEvent[]> => E.right(events);

export const decideNamespace = (command: NamespaceCommand, state: LabNamespace): E.Either<DomainError, readonly NamespaceEvent[]> => {
  const at = command.now.toISOString();
  if (command.type === 'RecordNamespaceCreated') {
    if (state.status === 'live') return ok(); // every deployment into it records it; the first one counts
    if (state.status === 'deleting') return E.left(conflict(state.status, `namespace ${command.name} is being deleted; deploy again once it is gone`));
    return ok({ type: 'NamespaceCreated', data: { name: command.name, project: command.project, url: command.url, deployment_id: command.deploymentId, created_at: at } });
  }
  if (state.status === 'none' || state.status === 'deleted') return E.left(notFound('no lab namespace of that name'));
  switch (command.type) {
    case 'ScheduleNamespaceDeletion':
      if (state.status !== 'live') return E.left(conflict(state.status, `namespace ${state.name} is being deleted already`));
      return ok({ type: 'NamespaceDeletionScheduled', data: { name: state.name, scheduled_for: new Date(command.now.getTime() + command.afterDays * DAY_MS).toISOString(), requested_by: command.requestedBy, requested_at: at } });
    case 'RequestNamespaceDeletion':
      if (state.status === 'deleting') return ok(); // asked twice: the deletion under way answers both
      if (command.due && (state.scheduledFor === null || Date.parse(state.scheduledFor) > command.now.getTime())) return ok();
      return ok({ type: 'NamespaceDeletionRequested', data: { name: state.name, requested_by: command.requestedBy, requested_at: at } });
    case 'RecordNamespaceDeleted':
      if (state.status !== 'deleting') return ok();
      return ok({ type: 'NamespaceDeleted', data: { name: state.name, outcome: command.outcome, deleted_at: at } });
    default: {
      const unexpected: never = command;
      return unexpected;
    }
  }
};

export const namespaceDecider: Decider<NamespaceCommand, NamespaceEvent, LabNamespace> = {
  initialState: () => ({ status: 'none' }),
  evolve: evolveNamespace,
  decide: decideNamespace,
};
