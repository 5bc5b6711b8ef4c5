import * as E from 'fp-ts/lib/Either.js';
import { accept, type Decider } from '../commands/decider.js';
import { conflict, notFound, type DomainError } from '../commands/domain-error.js';
import type { NamespaceEvent } from './events.js';
import type { NamespaceStatus } from './status.js';

interface NamespaceFacts {
  readonly name: string;
  readonly project: string;
  readonly url: string;
}

/** A lab namespace: live (perhaps with a deletion date), being deleted, or deleted (and perhaps made again later). */
export type LabNamespace =
  | { readonly status: 'none' }
  | ({ readonly status: 'live'; readonly scheduledFor: string | null } & NamespaceFacts)
  /** `failures`: tries that failed so far; `retryAt`: when the last failure is tried again. */
  | ({ readonly status: 'deleting'; readonly failures: number; readonly retryAt: string | null } & NamespaceFacts)
  | ({ readonly status: 'deleted' } & NamespaceFacts);

// The union above names the statuses of ./status.ts, no more and no fewer, and 'none'.
type Named = Exclude<LabNamespace['status'], 'none'>;
const sameStatuses: [Named, NamespaceStatus] extends [NamespaceStatus, Named] ? true : never = true;
void sameStatuses;

export type NamespaceCommand =
  | {
      readonly type: 'RecordNamespaceCreated';
      readonly name: string;
      readonly project: string;
      readonly url: string;
      readonly deploymentId: string;
      readonly now: Date;
    }
  | {
      readonly type: 'ScheduleNamespaceDeletion';
      readonly afterDays: number;
      readonly requestedBy: string;
      readonly now: Date;
    }
  /** Now, by a person; or by the deadline timer, which passes `due` and is ignored before the date. */
  | {
      readonly type: 'RequestNamespaceDeletion';
      readonly requestedBy: string;
      readonly due?: boolean;
      readonly now: Date;
    }
  | { readonly type: 'RecordNamespaceDeleted'; readonly outcome: 'deleted' | 'absent'; readonly now: Date }
  /** The cluster did not delete it; tried again after a growing pause. */
  | { readonly type: 'RecordNamespaceDeletionFailed'; readonly reason: string; readonly now: Date }
  /** The deadline timer's command: try a failed deletion again once its pause is over; a no-op otherwise. */
  | { readonly type: 'RetryNamespaceDeletion'; readonly now: Date };

const evolveNamespace = (state: LabNamespace, event: NamespaceEvent): LabNamespace => {
  switch (event.type) {
    case 'NamespaceCreated':
      return {
        status: 'live',
        name: event.data.name,
        project: event.data.project,
        url: event.data.url,
        scheduledFor: null,
      };
    case 'NamespaceDeletionScheduled':
      return state.status === 'live' ? { ...state, scheduledFor: event.data.scheduled_for } : state;
    case 'NamespaceDeletionRequested':
      if (state.status === 'none') return state;
      return state.status === 'deleting'
        ? { ...state, retryAt: null }
        : { status: 'deleting', name: state.name, project: state.project, url: state.url, failures: 0, retryAt: null };
    case 'NamespaceDeletionFailed':
      return state.status === 'deleting'
        ? { ...state, failures: event.data.attempt, retryAt: event.data.retry_at }
        : state;
    case 'NamespaceDeleted':
      return state.status === 'none'
        ? state
        : { status: 'deleted', name: state.name, project: state.project, url: state.url };
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
};

const DAY_MS = 86_400_000;
/** A failed deletion is tried again after 10 s, 20 s, 40 s, … at most 10 minutes apart. */
const retryDelayMs = (failures: number): number => Math.min(10_000 * 2 ** (failures - 1), 600_000);

const decideNamespace = (
  command: NamespaceCommand,
  state: LabNamespace,
): E.Either<DomainError, readonly NamespaceEvent[]> => {
  const at = command.now.toISOString();
  if (command.type === 'RecordNamespaceCreated') {
    if (state.status === 'live') return accept(); // every deployment into it records it; the first one counts
    if (state.status === 'deleting')
      return E.left(conflict(state.status, `namespace ${command.name} is being deleted; deploy again once it is gone`));
    return accept({
      type: 'NamespaceCreated',
      data: {
        name: command.name,
        project: command.project,
        url: command.url,
        deployment_id: command.deploymentId,
        created_at: at,
      },
    });
  }
  if (state.status === 'none' || state.status === 'deleted') return E.left(notFound('no lab namespace of that name'));
  switch (command.type) {
    case 'ScheduleNamespaceDeletion':
      if (state.status !== 'live')
        return E.left(conflict(state.status, `namespace ${state.name} is being deleted already`));
      return accept({
        type: 'NamespaceDeletionScheduled',
        data: {
          name: state.name,
          scheduled_for: new Date(command.now.getTime() + command.afterDays * DAY_MS).toISOString(),
          requested_by: command.requestedBy,
          requested_at: at,
        },
      });
    case 'RequestNamespaceDeletion':
      if (state.status === 'deleting') return accept(); // asked twice: the deletion under way answers both
      if (command.due && (state.scheduledFor === null || Date.parse(state.scheduledFor) > command.now.getTime()))
        return accept();
      return accept({
        type: 'NamespaceDeletionRequested',
        data: { name: state.name, requested_by: command.requestedBy, requested_at: at },
      });
    case 'RecordNamespaceDeleted':
      if (state.status !== 'deleting') return accept();
      return accept({ type: 'NamespaceDeleted', data: { name: state.name, outcome: command.outcome, deleted_at: at } });
    case 'RecordNamespaceDeletionFailed': {
      if (state.status !== 'deleting') return accept();
      const attempt = state.failures + 1;
      return accept({
        type: 'NamespaceDeletionFailed',
        data: {
          name: state.name,
          reason: command.reason,
          attempt,
          failed_at: at,
          retry_at: new Date(command.now.getTime() + retryDelayMs(attempt)).toISOString(),
        },
      });
    }
    case 'RetryNamespaceDeletion':
      if (state.status !== 'deleting' || state.retryAt === null || Date.parse(state.retryAt) > command.now.getTime())
        return accept();
      return accept({
        type: 'NamespaceDeletionRequested',
        data: { name: state.name, requested_by: 'timer', requested_at: at },
      });
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
