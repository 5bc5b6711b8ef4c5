import { ProblemError } from './problem.js';
import { PositionTimeoutError, SubscriberStoppedError } from '../projections/position-tracker.js';
import { ProjectionFailedError } from '../projections/runner.js';

/**
 * A read that waited for a view to catch up and could not: 503 with Retry-After, per the
 * contract (a dependency is unavailable). Anything else is not a wait problem: undefined.
 */
export const waitErrorToProblem = (error: unknown): ProblemError | undefined => {
  if (error instanceof PositionTimeoutError) {
    return new ProblemError(
      503,
      `the view is still catching up with the log (${error.subscriber} is at position ${error.reached}, the request needs ${error.position})`,
      {
        headers: { 'Retry-After': '1' },
      },
    );
  }
  if (error instanceof ProjectionFailedError) {
    return new ProblemError(503, `the view ${error.projection} is unavailable`, { headers: { 'Retry-After': '30' } });
  }
  if (error instanceof SubscriberStoppedError) {
    return new ProblemError(503, 'the gateway is shutting down', { headers: { 'Retry-After': '1' } });
  }
  return undefined;
};
