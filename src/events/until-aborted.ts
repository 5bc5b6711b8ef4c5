/**
 * Iterates a subscription until the signal aborts, without waiting for the subscription's own
 * iterator to notice: the loop ends at once even if the adapter is blocked waiting for the
 * next event. A value that arrives after the abort is dropped (not processed); the caller still
 * stops the subscription itself to release it.
 *
 * Each wait races the read against its own abort promise, whose listener is removed after the
 * race: one long-lived abort promise would keep a reaction (and the value it delivered) for every
 * event ever read, for the life of the subscription.
 */
export async function* untilAborted<T>(iterable: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = iterable[Symbol.asyncIterator]();
  for (;;) {
    // Aborted while the caller held the last value: its abort event has fired already.
    if (signal.aborted) return;
    const next = iterator.next();
    // Once abandoned, a late failure of the pending read must not become an unhandled rejection.
    next.catch(() => undefined);
    let onAbort!: () => void;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    let result: IteratorResult<T> | 'aborted';
    try {
      result = await Promise.race([next, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (result === 'aborted' || result.done) return;
    yield result.value;
  }
}
