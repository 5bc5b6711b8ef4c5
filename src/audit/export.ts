import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { RecordedEvent } from '../eventstore/port.js';
import { toAuditEvent } from './audit-event.js';
import { pagesOf, streamPagesOf, type AuditSource } from './source.js';

export interface ExportOptions {
  /** The first `$all` position (inclusive); with a stream, that stream's events from there on. */
  readonly from?: number;
  readonly stream?: string;
}

/**
 * Writes events as JSON lines, one audit event (the API's item shape) per line, waiting whenever
 * the reader is slower than the log, so exporting a million events holds one page in memory.
 * Returns how many were written.
 */
export const exportEvents = async (
  source: AuditSource,
  out: Writable,
  options: ExportOptions = {},
): Promise<number> => {
  const from = options.from ?? 0;
  const pages: AsyncIterable<RecordedEvent[]> =
    options.stream === undefined ? pagesOf(source, { fromPosition: from }) : streamPagesOf(source, options.stream);
  let written = 0;
  for await (const page of pages) {
    const lines = page
      .filter((event) => event.position >= from)
      .map((event) => `${JSON.stringify(toAuditEvent(event))}\n`);
    if (lines.length === 0) continue;
    written += lines.length;
    if (!out.write(lines.join(''))) await once(out, 'drain');
  }
  return written;
};
