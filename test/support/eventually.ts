/**
 * Polls `probe` until it gives a value, and returns it; fails naming `what` after `timeoutMs`.
 * For things the gateway does in the background (process managers, OpenCode, webhooks).
 */
export const eventually = async <T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 50,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`never happened within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
};

/** `eventually` for a condition. */
export const until = (condition: () => Promise<boolean> | boolean, what: string, timeoutMs?: number): Promise<true> =>
  eventually(async () => ((await condition()) ? true : undefined), what, timeoutMs);
