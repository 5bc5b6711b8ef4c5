/** The parts of a running subscriber (process manager or projection) that starting it sets. */
export interface SubscriberLoop {
  loop: Promise<void>;
  lagTimer?: NodeJS.Timeout | undefined;
}

/** The lag reporting options the process-manager and projection runners share. */
interface LagOptions {
  readonly onLag?: ((name: string, lag: number) => void) | undefined;
  readonly onError?: ((name: string, error: unknown) => void) | undefined;
  /** Default 5000. */
  readonly lagIntervalMs?: number | undefined;
}

interface LagReporting extends LagOptions {
  readonly name: string;
  readonly lag: () => Promise<number>;
}

/**
 * Runs a subscriber's loop in the background and resolves once the loop reports that it has
 * subscribed; while it runs, reports its lag every interval when anyone listens.
 */
export const startSubscriberLoop = async (
  running: SubscriberLoop,
  run: (subscribed: () => void) => Promise<void>,
  lag: LagReporting,
): Promise<void> => {
  let subscribedNow!: () => void;
  const subscribed = new Promise<void>((resolve) => (subscribedNow = resolve));
  running.loop = run(subscribedNow);
  if (lag.onLag) {
    running.lagTimer = setInterval(() => void reportLag(lag), lag.lagIntervalMs ?? 5000);
    running.lagTimer.unref();
  }
  await subscribed;
};

const reportLag = async ({ name, lag, onLag, onError }: LagReporting): Promise<void> => {
  try {
    onLag?.(name, await lag());
  } catch (error) {
    onError?.(name, error);
  }
};
