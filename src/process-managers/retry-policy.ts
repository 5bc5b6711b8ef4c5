/** Exponential backoff for effects that throw. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, initialDelayMs: 200, maxDelayMs: 30_000, factor: 2 };

/** The pause after failed attempt `attempt` (1-based). */
export const delayAfter = (policy: RetryPolicy, attempt: number): number =>
  Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** (attempt - 1));
