/**
 * Iterates a subscription until the signal aborts, without waiting for the subscription's own
 * iterator to notice: the loop ends at once even if the adapter is blocked waiting for the
 * next event. A value that arrives after the abort is dropped (not processed); the caller still
 * stops the subscription itself to release it.
 *
 * One abort listener serves the whole loop, and each wait is a promise of its own that either the
 * read or the abort settles: nothing long-lived keeps a reaction (or the value it delivered) for
 * every event ever read, and an event costs no listener added and removed, which every subscriber
 * of every event would pay.
 */
export async function* untilAborted<T>(iterable: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = iterable[Symbol.asyncIterator]();
  let interrupt: (() => void) | undefined;
  const onAbort = () => interrupt?.();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      // Aborted while the caller held the last value: its abort event has fired already.
      if (signal.aborted) return;
      const next = iterator.next();
      // Once abandoned, a late failure of the pending read must not become an unhandled rejection.
      next.catch(() => undefined);
      const result = await new Promise<IteratorResult<T> | 'aborted'>((resolve, reject) => {
        interrupt = () => resolve('aborted');
        if (signal.aborted) resolve('aborted'); // by the read itself, before there was anything to interrupt
        next.then(resolve, reject);
      });
      interrupt = undefined;
      if (result === 'aborted' || result.done) return;
      yield result.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
