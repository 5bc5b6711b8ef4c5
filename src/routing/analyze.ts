import { ROUTES, type Route, type RoutingSignals } from './signals.js';
import { tokenize, type Token } from './words.js';

export interface RoutingTask {
  readonly title: string;
  readonly description: string;
}

interface MatchedSignal {
  readonly route: Route;
  readonly term: string;
  /** What the signal added to its route's score (title matches count more). */
  readonly weight: number;
}

export interface RoutingAnalysis {
  readonly suggested: Route;
  readonly confidence: number;
  readonly reason: string;
  readonly scores: Record<Route, number>;
  readonly signals: MatchedSignal[];
  /** The seed's first rule decided: security-sensitive work goes to the architect. */
  readonly security_first?: true;
}

/** Where a term (its stems in order) stands in the text, if it stands there un-negated. */
const findTerm = (
  tokens: readonly Token[],
  term: readonly string[],
  signals: RoutingSignals,
): 'absent' | 'present' | 'negated' => {
  let negatedOnly = false;
  for (let i = 0; i + term.length <= tokens.length; i++) {
    if (!term.every((stem, k) => tokens[i + k]!.stem === stem)) continue;
    const before = tokens.slice(Math.max(0, i - signals.negation_window), i);
    if (before.some((token) => signals.negations.includes(token.word))) negatedOnly = true;
    else return 'present';
  }
  return negatedOnly ? 'negated' : 'absent';
};

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * The BMAD router: explainable weighted signals, pure. Each signal counts once in the title
 * (times title_weight) and once in the description; size, breadth and conflicting signals
 * point to party-mode. Confidence grows with the margin between the two best routes and with
 * the strength of the best.
 */
export const analyzeRoute = (task: RoutingTask, signals: RoutingSignals): RoutingAnalysis => {
  const title = tokenize(task.title);
  const description = tokenize(task.description);
  const scores: Record<Route, number> = { architect: 0, pm: 0, builder: 0, 'party-mode': 0 };
  const matched: MatchedSignal[] = [];
  const negated: string[] = [];
  /** Adds what a term contributes where it stands; returns the contribution. */
  const count = (route: Route, { term, weight }: { term: string; weight: number }): number => {
    const stems = tokenize(term).map((token) => token.stem);
    if (stems.length === 0) return 0;
    const inTitle = findTerm(title, stems, signals);
    const inDescription = findTerm(description, stems, signals);
    const contribution =
      (inTitle === 'present' ? weight * signals.title_weight : 0) + (inDescription === 'present' ? weight : 0);
    if (contribution > 0) {
      scores[route] += contribution;
      matched.push({ route, term, weight: round(contribution) });
    } else if (inTitle === 'negated' || inDescription === 'negated') {
      negated.push(term);
    }
    return contribution;
  };
  for (const route of ROUTES) for (const signal of signals.routes[route]) count(route, signal);
  const security = signals.security.reduce((sum, signal) => sum + count('architect', signal), 0);
  if (security >= signals.security_precedence) return securityFirst(security, scores, matched);

  const words = [...title, ...description];
  const components = new Set(words.map((token) => token.word).filter((word) => signals.components.includes(word)));
  if (components.size >= signals.components_threshold) {
    const weight = signals.components_weight * (components.size - signals.components_threshold + 1);
    scores['party-mode'] += weight;
    matched.push({
      route: 'party-mode',
      term: `${components.size} components (${[...components].join(', ')})`,
      weight: round(weight),
    });
  }
  if (description.length >= signals.long_description_words) {
    scores['party-mode'] += signals.long_description_weight;
    matched.push({
      route: 'party-mode',
      term: `long description (${description.length} words)`,
      weight: signals.long_description_weight,
    });
  }
  const specialists = (['architect', 'pm', 'builder'] as const).map((route) => scores[route]).sort((a, b) => b - a);
  if (specialists[0]! > 0 && specialists[1]! >= signals.conflict_ratio * specialists[0]!) {
    scores['party-mode'] += signals.conflict_weight;
    matched.push({ route: 'party-mode', term: 'conflicting signals', weight: signals.conflict_weight });
  }

  const ranked = [...ROUTES].sort((a, b) => scores[b] - scores[a]);
  const [best, second] = [ranked[0]!, ranked[1]!];
  const top = scores[best];
  if (top === 0) {
    return {
      suggested: signals.no_signal_route,
      confidence: 0.2,
      reason: `No routing signal matched${negated.length > 0 ? ` (negated: ${negated.map((term) => `"${term}"`).join(', ')})` : ''}, so unknown work goes to ${signals.no_signal_route}.`,
      scores: roundScores(scores),
      signals: matched,
    };
  }
  const margin = (top - scores[second]) / top;
  const strength = top / (top + 3);
  const confidence = round(Math.min(1, Math.max(0, margin * (0.4 + 0.6 * strength))));
  const deciding = decidingTerms(matched, best);
  const runnerUp = scores[second] > 0 ? `; ${second} scored ${round(scores[second])}` : '';
  const ignored = negated.length > 0 ? `; ignored negated ${negated.map((term) => `"${term}"`).join(', ')}` : '';
  return {
    suggested: best,
    confidence,
    reason: `Suggested ${best} (score ${round(top)}) because of ${deciding.join(', ')}${runnerUp}${ignored}.`,
    scores: roundScores(scores),
    signals: matched,
  };
};

/** The three strongest signals of the route, as the reason names them. */
const decidingTerms = (matched: readonly MatchedSignal[], route: Route): string[] =>
  matched
    .filter((signal) => signal.route === route)
    .sort((a, b) => b.weight - a.weight)
    .slice(0, 3)
    .map((signal) => `"${signal.term}" (+${signal.weight})`);

/**
 * The seed's first rule, before any other: security-sensitive work goes to the architect, with
 * the confidence its security terms alone give (the rule does not weigh them against the rest).
 */
const securityFirst = (
  security: number,
  scores: Record<Route, number>,
  matched: readonly MatchedSignal[],
): RoutingAnalysis => {
  const deciding = decidingTerms(matched, 'architect');
  return {
    suggested: 'architect',
    confidence: round(Math.min(0.95, security / (security + 2))),
    reason: `Suggested architect: security-sensitive work goes to the architect first, because of ${deciding.join(', ')}.`,
    scores: roundScores(scores),
    signals: [...matched],
    security_first: true,
  };
};

const roundScores = (scores: Record<Route, number>): Record<Route, number> =>
  Object.fromEntries(Object.entries(scores).map(([route, score]) => [route, round(score)])) as Record<Route, number>;
