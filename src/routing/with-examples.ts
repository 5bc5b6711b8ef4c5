import { analyzeRoute, round, type RoutingAnalysis, type RoutingTask } from './analyze.js';
import type { ExampleRouter } from './examples.js';
import type { RoutingSignals } from './signals.js';

/** The gateway's own analysis: which of its two readings decided the route. */
export type OwnAnalysis = RoutingAnalysis & { readonly decided_by: 'signals' | 'examples' };

/** The examples' lead (log2 odds of the best route over the second) at which confidence stops growing. */
const FULL_LEAD = 15;

/**
 * What one point of a route's signal score counts against one bit (log2 odds) of the examples'
 * lean. Chosen by ten-fold cross-validation on the example sets the signals were never tuned on
 * (npm run bench -- routing prints the grid): the signals' terms carry what a few hundred
 * examples cannot, the examples what a word list cannot.
 */
export const SIGNALS_WEIGHT = 1;

/** The signals' confidence for a task none of their terms matched: below it they are torn between routes. */
const SURE_ENOUGH = 0.2;

const signalsSay = (agree: boolean, examples: string, signals: string): string => {
  if (agree) return 'and the signals agree';
  if (examples === signals) return 'and the signals are unsure, so a person confirms';
  return `but the signals said ${signals}, so a person confirms`;
};

/**
 * Routes by the labelled examples and the signals together. The security rule comes first, as
 * ever. Otherwise each route scores the examples' log2 odds plus its signal score (times
 * SIGNALS_WEIGHT), and the best score chooses. When the examples and the signals each pick that
 * same route the gateway may confirm it itself (0.80–0.95, growing with the lead); when they
 * differ, or the signals are unsure, a person is asked (below 0.80). npm run bench -- routing
 * measures how often each band is right.
 */
export const analyzeWithExamples = (
  task: RoutingTask,
  signals: RoutingSignals,
  examples: ExampleRouter | undefined,
  signalsWeight = SIGNALS_WEIGHT,
): OwnAnalysis => {
  const bySignals = analyzeRoute(task, signals);
  if (examples === undefined || bySignals.security_first) return { ...bySignals, decided_by: 'signals' };
  const opinion = examples(task);
  if (opinion === undefined) return { ...bySignals, decided_by: 'signals' };
  const blended = opinion.ranked
    .map(({ route, logOdds }) => ({ route, score: logOdds + signalsWeight * bySignals.scores[route] }))
    .sort((a, b) => b.score - a.score);
  const [best, second] = [blended[0]!, blended[1]!];
  const examplesBest = opinion.ranked[0]!.route;
  const lead = Math.min(1, (best.score - second.score) / FULL_LEAD);
  // The signals agree only when they say something: a term matched, and not so evenly against
  // another route that their own confidence is below what they give a task with no signal at all.
  const agree =
    best.route === examplesBest &&
    best.route === bySignals.suggested &&
    bySignals.signals.length > 0 &&
    bySignals.confidence >= SURE_ENOUGH;
  const like = opinion.terms.length > 0 ? ` (${opinion.terms.map((term) => `"${term}"`).join(', ')})` : '';
  const reading =
    best.route === examplesBest
      ? `it reads like the labelled examples of ${best.route} work${like}, ${signalsSay(agree, best.route, bySignals.suggested)}`
      : `the labelled examples lean to ${examplesBest} work but, weighed with its signals, ${best.route} scores higher, so a person confirms`;
  return {
    ...bySignals,
    suggested: best.route,
    confidence: round(agree ? 0.8 + 0.15 * lead : 0.3 + 0.45 * lead),
    reason: `Suggested ${best.route}: ${reading}. ${bySignals.reason}`,
    decided_by: 'examples',
  };
};
