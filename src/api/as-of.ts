import type { DomainEvent } from '../events/domain-event.js';
import type { EventLog } from '../events/event-log.js';
import type { StoredEvent } from '../events/stored-event.js';
import type { Context } from 'koa';
import { ProblemError } from './problem.js';
import { setETag } from './validation.js';

/**
 * A view as it stood at a time (RFC 3339) or at a `$all` position, folded from its stream's own
 * history: auditors see what a person saw then. Undefined when the stream had not begun.
 */
const viewAsOf = async <View, Event extends DomainEvent>(
  eventLog: EventLog,
  stream: string,
  asOf: string | string[],
  evolve: (view: View | undefined, stored: StoredEvent<Event>) => View | undefined,
): Promise<View | undefined> => {
  const isPosition = typeof asOf === 'string' && /^\d{1,15}$/.test(asOf);
  const time = typeof asOf === 'string' && !isPosition ? Date.parse(asOf) : NaN;
  if (!isPosition && (Number.isNaN(time) || typeof asOf !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(asOf))) {
    throw new ProblemError(400, 'as_of must be an RFC 3339 time or a $all position', {
      errors: [{ path: 'query.as_of', message: 'expected an RFC 3339 time or a non-negative integer position' }],
    });
  }
  let view: View | undefined;
  for (const stored of await eventLog.readStream<Event>(stream)) {
    const before = isPosition ? stored.position <= Number(asOf) : Date.parse(stored.metadata.recorded_at) <= time;
    if (!before) break;
    view = evolve(view, stored);
  }
  return view;
};

/**
 * GET of one view: as it is now (shown through `present`, e.g. without a deleted lab's URL), or
 * with `?as_of=` as it stood then, as recorded; 404 naming it when there is none; its ETag.
 */
export const answerView = async <View extends { readonly revision: number }, Event extends DomainEvent>(
  ctx: Context,
  options: {
    /** What the 404 says is missing, e.g. "deployment d-1". */
    readonly what: string;
    readonly current: View | undefined;
    readonly eventLog: EventLog;
    readonly stream: string;
    readonly evolve: (view: View | undefined, stored: StoredEvent<Event>) => View | undefined;
    readonly present?: (view: View) => View;
  },
): Promise<void> => {
  const asOf = ctx.query['as_of'];
  const view =
    asOf === undefined ? options.current : await viewAsOf(options.eventLog, options.stream, asOf, options.evolve);
  if (!view) throw new ProblemError(404, `no ${options.what}`);
  setETag(ctx, view.revision);
  ctx.body = asOf === undefined && options.present ? options.present(view) : view;
};
