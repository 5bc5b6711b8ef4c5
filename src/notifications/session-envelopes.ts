import type { EventLog } from '../events/event-log.js';
import { sessionStream } from '../sessions/events.js';
import { countUpTo, countWebhooks, NOTHING_COUNTED, type EnvelopeCount } from './envelope.js';

/**
 * Reads the envelope (`sequence`, `requested_by`) of a session's webhooks from its stream. It
 * remembers where it counted each session to, so each webhook reads only the events since the
 * last one (one session's webhooks are sent one at a time, in order); what it forgets, or what
 * a restart loses, is counted again from the log, to the same numbers.
 */
export class SessionEnvelopes {
  private readonly counted = new Map<string, EnvelopeCount>();

  constructor(
    private readonly eventLog: EventLog,
    private readonly maxSessions = 10_000,
  ) {}

  /** The envelope of the webhook the session's event at `revision` makes. */
  async at(sessionId: string, revision: number): Promise<EnvelopeCount> {
    const known = this.counted.get(sessionId);
    if (known?.revision === revision) return known;
    const from = known !== undefined && known.revision < revision ? known : NOTHING_COUNTED;
    const events = await this.eventLog.readStream(sessionStream(sessionId), {
      fromRevision: from.revision + 1,
      maxCount: revision - from.revision,
    });
    const count = events.reduce(countWebhooks, from);
    if (count.revision !== revision) throw new Error(`session ${sessionId} has no event at revision ${revision}`);
    this.counted.delete(sessionId);
    this.counted.set(sessionId, count);
    // The least recently counted session goes first; counting it again costs one read.
    if (this.counted.size > this.maxSessions) this.counted.delete(this.counted.keys().next().value!);
    return count;
  }

  /** The envelope of the webhook of the session's event `eventId`, or undefined when the session has no such event. */
  async of(sessionId: string, eventId: string): Promise<EnvelopeCount | undefined> {
    return countUpTo(await this.eventLog.readStream(sessionStream(sessionId)), eventId);
  }
}
