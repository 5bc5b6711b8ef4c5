import { analyzeRoute, round, type RoutingAnalysis, type RoutingTask } from './analyze.js';
import type { ExampleRouter } from './examples.js';
import type { Route, RoutingSignals } from './signals.js';

/** The gateway's own analysis: which of its two readings decided the route. */
export type OwnAnalysis = RoutingAnalysis & { readonly decided_by: 'signals' | 'examples' };

/** The lead (the best route's score over the second's) at which confidence stops growing. */
const FULL_LEAD = 15;

/**
 * What one point of a route's signal score counts against one bit (log2 odds) of the examples'
 * lean. Chosen by ten-fold cross-validation on the example sets the signals were never tuned on
 * (npm run bench -- routing prints the grid): the signals' terms carry what a few hundred
 * examples cannot, the examples what a word list cannot.
 */
export const SIGNALS_WEIGHT = 1;

/**
 * The lead below which the gateway does not confirm a route itself, even when the examples and
 * the signals agree: the smallest at which, cross-validated on the blind example sets, the
 * routes it would confirm were right at least 96% of the time (a margin over the 95% that the
 * auto-confirm threshold promises) and the fewest security tasks were confirmed to another route
 * (the bench prints the grid): those the rule missed are left to a person.
 */
export const MIN_LEAD = 12;

/**
 * How far another route must score above the architect to take a task from it. The seed's first
 * rule sends security-sensitive work to the architect, and security work sent elsewhere costs more
 * than other work sent to the architect, so in doubt the architect looks first (and a person
 * confirms). Chosen by a rule fixed before measuring: the smallest margin that, cross-validated
 * on the blind example sets, sends the most security tasks to the architect while the accuracy
 * falls by at most a point (npm run bench -- routing prints the grid).
 */
export const ARCHITECT_MARGIN = 3;

/** The signals' confidence for a task none of their terms matched: below it they are torn between routes. */
const SURE_ENOUGH = 0.2;

/** What the signals say of the chosen route, and whether the gateway may confirm it itself. */
const signalsSay = (route: Route, bySignals: RoutingAnalysis, clear: boolean): { agree: boolean; say: string } => {
  // The signals agree only when they say something: a term matched, and not so evenly against
  // another route that their own confidence is below what they give a task with no signal at all.
  const sure = bySignals.signals.length > 0 && bySignals.confidence >= SURE_ENOUGH;
  if (bySignals.suggested !== route)
    return { agree: false, say: `but the signals said ${bySignals.suggested}, so a person confirms` };
  if (!sure) return { agree: false, say: 'and the signals are unsure, so a person confirms' };
  if (!clear) return { agree: false, say: 'and the signals agree, but not by a clear margin, so a person confirms' };
  return { agree: true, say: 'and the signals agree' };
};

export interface Blend {
  readonly signalsWeight?: number;
  readonly minLead?: number;
  readonly architectMargin?: number;
}

/**
 * Routes by the labelled examples and the signals together. The security rule comes first, as
 * ever. Otherwise each route scores the examples' log2 odds plus its signal score (times
 * SIGNALS_WEIGHT), and the best score chooses. When the examples and the signals each pick that
 * same route, by a lead of at least MIN_LEAD, the gateway may confirm it itself (0.80–0.95,
 * growing with the lead); otherwise a person is asked (below 0.80). Another route that beats the
 * architect by less than ARCHITECT_MARGIN leaves the task with the architect, and a person
 * confirms. npm run bench -- routing measures how often each band is right.
 */
export const analyzeWithExamples = (
  task: RoutingTask,
  signals: RoutingSignals,
  examples: ExampleRouter | undefined,
  { signalsWeight = SIGNALS_WEIGHT, minLead = MIN_LEAD, architectMargin = ARCHITECT_MARGIN }: Blend = {},
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
  const margin = best.score - second.score;
  const lead = Math.min(1, margin / FULL_LEAD);
  // A route other than the best (the architect, kept in doubt) leads nothing.
  const answer = (agree: boolean, reading: string, route = best.route): OwnAnalysis => {
    const ahead = route === best.route ? lead : 0;
    return {
      ...bySignals,
      suggested: route,
      confidence: round(agree ? 0.8 + 0.15 * ahead : 0.3 + 0.45 * ahead),
      reason: `Suggested ${route}: ${reading}. ${bySignals.reason}`,
      decided_by: 'examples',
    };
  };
  const architect = blended.find(({ route }) => route === 'architect')!;
  if (best.route !== 'architect' && best.score - architect.score < architectMargin)
    return answer(
      false,
      `weighed together, the labelled examples and the signals lean to ${best.route} work, but the architect scores close behind, and work that may touch security goes to the architect when in doubt, so a person confirms`,
      'architect',
    );
  if (best.route !== examplesBest)
    return answer(
      false,
      `the labelled examples lean to ${examplesBest} work but, weighed with its signals, ${best.route} scores higher, so a person confirms`,
    );
  const like = opinion.terms.length > 0 ? ` (${opinion.terms.map((term) => `"${term}"`).join(', ')})` : '';
  const { agree, say } = signalsSay(best.route, bySignals, margin >= minLead);
  return answer(agree, `it reads like the labelled examples of ${best.route} work${like}, ${say}`);
};
