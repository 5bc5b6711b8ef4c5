/**
 * Iterates a subscription until the signal aborts, without waiting for the subscription's own
 * iterator to notice: the loop ends at once even if the adapter is blocked waiting for the
 * next event. A value that arrives after the abort is dropped (not processed); the caller still
 * stops the subscription itself to release it.
 */
export async function* untilAborted<T>(iterable: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  if (signal.aborted) return;
  const iterator = iterable[Symbol.asyncIterator]();
  let onAbort!: () => void;
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    for (;;) {
      const next = iterator.next();
      // Once abandoned, a late failure of the pending read must not become an unhandled rejection.
      next.catch(() => undefined);
      const result = await Promise.race([next, aborted]);
      if (result === 'aborted' || result.done) return;
      yield result.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
