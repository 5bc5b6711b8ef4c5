import type { EventStore } from '../eventstore/port.js';

/** The parts of a running subscriber (process manager or projection) that starting it sets. */
export interface SubscriberLoop {
  readonly controller: AbortController;
  loop: Promise<void>;
  lagTimer?: NodeJS.Timeout | undefined;
  subscription: { stop(): Promise<void> } | undefined;
}

/** The lag reporting options the process-manager and projection runners share. */
interface LagOptions {
  readonly onLag?: ((name: string, lag: number) => void) | undefined;
  readonly onError?: ((name: string, error: unknown) => void) | undefined;
  /** Default 5000. */
  readonly lagIntervalMs?: number | undefined;
}

/** A runner as its lag reports see it. */
interface Subscriber {
  readonly name: string;
  readonly options: LagOptions;
  lag(): Promise<number>;
}

/**
 * Runs a subscriber's loop in the background and resolves once the loop reports that it has
 * subscribed; while it runs, reports its lag every interval when anyone listens.
 */
export const startSubscriberLoop = async (
  running: SubscriberLoop,
  subscriber: Subscriber,
  run: (subscribed: () => void) => Promise<void>,
): Promise<void> => {
  let subscribedNow!: () => void;
  const subscribed = new Promise<void>((resolve) => (subscribedNow = resolve));
  running.loop = run(subscribedNow);
  if (subscriber.options.onLag) {
    running.lagTimer = setInterval(() => void reportLag(subscriber), subscriber.options.lagIntervalMs ?? 5000);
    running.lagTimer.unref();
  }
  await subscribed;
};

const reportLag = async (subscriber: Subscriber): Promise<void> => {
  try {
    const lag = await subscriber.lag();
    subscriber.options.onLag?.(subscriber.name, lag);
  } catch (error) {
    subscriber.options.onError?.(subscriber.name, error);
  }
};

/** Aborts the loop (its waiting effects see `reason`), stops its lag reports and subscription, and waits for its last pass. */
export const stopSubscriberLoop = async (running: SubscriberLoop, reason?: unknown): Promise<void> => {
  running.controller.abort(reason);
  clearInterval(running.lagTimer);
  await running.subscription?.stop();
  await running.loop;
};

/** How far a subscriber at `position` is behind the head of `$all`. */
export const lagBehindHead = async (store: Pick<EventStore, 'readAll'>, position: number): Promise<number> => {
  const [head] = await store.readAll({ direction: 'backwards', maxCount: 1 });
  return Math.max(0, (head?.position ?? -1) - position);
};
