import * as E from 'fp-ts/lib/Either.js';
import type { Context } from 'koa';
import type { Decider } from '../commands/decider.js';
import { domainErrorToProblem } from './domain-problem.js';
import { handleCommand } from '../commands/handle-command.js';
import type { DomainEvent } from '../events/domain-event.js';
import type { EventLog } from '../events/event-log.js';
import type { DocumentProjectionRunner } from '../projections/runner.js';
import { ProblemError } from './problem.js';
import { commandContextOf } from './state.js';
import { ifMatchRevision, setETag } from './validation.js';

export interface AnswerCommandOptions<
  Command extends { readonly now: Date },
  Event extends DomainEvent,
  State,
  View extends { readonly revision: number },
> {
  readonly eventLog: EventLog;
  readonly stream: string;
  readonly decider: Decider<Command, Event, State>;
  readonly command: Command;
  /** The projection that serves the resource's view, and the view's id in it. */
  readonly views: DocumentProjectionRunner<View>;
  readonly id: string;
  readonly location: string;
  /** How long the response waits for the view to show the command's events. */
  readonly viewWaitMs: number;
  /**
   * What `If-Match` is compared with: the stream's revision (default, checked atomically with the
   * append), or the view's, for a view that is one of several on a shared stream (a parked webhook
   * among its session's deliveries), checked just before the command is decided.
   */
  readonly ifMatchAgainst?: 'stream' | 'view';
  /** The view to answer with if the command's consequences removed it from the projection (a parked webhook delivered at once). */
  readonly whenGone?: View;
}

/**
 * The contract's command answer: decide against the stream (honouring `If-Match`), append, wait
 * until the view shows it, then 202 with that view, its ETag and Location. A refusal is a problem
 * document (404, 409, 412).
 */
export const answerCommand = async <
  Command extends { readonly now: Date },
  Event extends DomainEvent,
  State,
  View extends { readonly revision: number },
>(
  ctx: Context,
  options: AnswerCommandOptions<Command, Event, State, View>,
  answer?: (view: View) => unknown,
): Promise<void> => {
  const expectedRevision = ifMatchRevision(ctx);
  const againstView = options.ifMatchAgainst === 'view';
  if (againstView && expectedRevision !== undefined) {
    const actualRevision = options.views.get(options.id)?.revision ?? -1;
    if (actualRevision !== expectedRevision)
      throw domainErrorToProblem({ kind: 'precondition_failed', stream: options.id, expectedRevision, actualRevision });
  }
  const result = await handleCommand(
    options.eventLog,
    options.stream,
    options.decider,
    options.command,
    commandContextOf(ctx, options.command.now),
    expectedRevision === undefined || againstView ? {} : { expectedRevision },
  );
  if (E.isLeft(result)) throw domainErrorToProblem(result.left);
  if (result.right.position !== null) await options.views.waitForPosition(result.right.position, options.viewWaitMs);
  const view = options.views.get(options.id) ?? options.whenGone;
  if (!view) throw new ProblemError(503, 'the view is not available yet', { headers: { 'Retry-After': '1' } });
  ctx.status = 202;
  setETag(ctx, view.revision);
  ctx.set('Location', options.location);
  ctx.body = answer ? answer(view) : view;
};
