import type { EventStore, RecordedEvent } from '../eventstore/port.js';

/**
 * Where audit reads history from: an event store opened here (embedded log, EventStoreDB) or a
 * running gateway's audit API. Only paged reads, so a log of millions of events is never held
 * whole in memory.
 */
export interface AuditSource {
  /** Events of `$all` from `fromPosition` (inclusive), at most `maxCount`, in log order. */
  readAll(fromPosition: number, maxCount: number): Promise<RecordedEvent[]>;
  /** Events of one stream from `fromRevision` (inclusive), at most `maxCount`; [] for an unknown stream. */
  readStream(stream: string, fromRevision: number, maxCount: number): Promise<RecordedEvent[]>;
  /** The position of the last event, -1 for an empty log; undefined when the source cannot tell (progress then counts events). */
  headPosition(): Promise<number | undefined>;
  close(): Promise<void>;
}

const DEFAULT_PAGE_SIZE = 500;

export const storeSource = (store: EventStore, options: { readonly closeStore?: boolean } = {}): AuditSource => ({
  readAll: (fromPosition, maxCount) => store.readAll({ fromPosition, maxCount }),
  readStream: (stream, fromRevision, maxCount) => store.readStream(stream, { fromRevision, maxCount }),
  headPosition: async () => (await store.readAll({ direction: 'backwards', maxCount: 1 }))[0]?.position ?? -1,
  close: async () => {
    if (options.closeStore) await store.close();
  },
});

/**
 * The log from `fromPosition` to the head as it stood when reading began, one page at a time.
 * Stopping at that head keeps a scan of a live log finite. Each next page starts at the last
 * event read (and skips it): a store is then only ever asked for a position an event really has,
 * which matters where positions are byte offsets (EventStoreDB).
 */
export async function* pagesOf(
  source: AuditSource,
  options: { readonly fromPosition?: number; readonly pageSize?: number; readonly until?: number } = {},
): AsyncGenerator<RecordedEvent[]> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const until = options.until ?? (await source.headPosition()) ?? Number.MAX_SAFE_INTEGER;
  let page = await source.readAll(options.fromPosition ?? 0, pageSize);
  for (;;) {
    const kept = page.filter((event) => event.position <= until);
    if (kept.length > 0) yield kept;
    const last = page[page.length - 1];
    if (page.length < pageSize || kept.length < page.length || !last) return;
    const next = await source.readAll(last.position, pageSize + 1);
    page = next.filter((event) => event.position > last.position);
    if (page.length === 0) return;
  }
}

/** One stream from `fromRevision`, page by page. */
export async function* streamPagesOf(
  source: AuditSource,
  stream: string,
  options: { readonly fromRevision?: number; readonly pageSize?: number } = {},
): AsyncGenerator<RecordedEvent[]> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  let from = options.fromRevision ?? 0;
  for (;;) {
    const page = await source.readStream(stream, from, pageSize);
    if (page.length > 0) yield page;
    const last = page[page.length - 1];
    if (page.length < pageSize || !last) return;
    from = last.revision + 1;
  }
}
