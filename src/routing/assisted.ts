import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { RoutingAnalysis, RoutingTask } from './analyze.js';
import type { ExampleRouter } from './examples.js';
import { analyzeWithExamples } from './with-examples.js';
import { Route, type RoutingSignals } from './signals.js';

/** What the model must answer: strict JSON, nothing else. */
const ModelAdvice = t.exact(
  t.type({
    route: Route,
    confidence: t.refinement(t.number, (n) => n >= 0 && n <= 1, 'confidence 0..1'),
    reason: t.string,
  }),
);
type ModelAdvice = t.TypeOf<typeof ModelAdvice>;

/** Asks the model for its route; resolves with its raw text answer. Supplied by the agents capability. */
export type SecondOpinion = (task: RoutingTask, signal: AbortSignal) => Promise<string>;

export interface AssistSettings {
  readonly mode: 'off' | 'low_confidence' | 'always';
  /** At or above it, `low_confidence` does not ask (the auto-confirm threshold). */
  readonly threshold: number;
  readonly timeoutMs: number;
}

/** The analysis, saying which decided it and, when the model was asked, what it said or why it was not used. */
export type AssistedAnalysis = RoutingAnalysis & {
  readonly decided_by: 'signals' | 'examples' | 'model';
  readonly model_opinion?: ModelAdvice;
  readonly model_error?: string;
};

/** The text a model wraps its JSON in (a code fence, a sentence before it) is not the answer. */
const jsonIn = (text: string): unknown => {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) throw new Error('no JSON object in the answer');
  return JSON.parse(text.slice(start, end + 1));
};

const adviceFrom = (text: string): E.Either<string, ModelAdvice> => {
  let parsed: unknown;
  try {
    parsed = jsonIn(text);
  } catch (error) {
    return E.left(`the model's answer is not JSON (${(error as Error).message})`);
  }
  const decoded = ModelAdvice.decode(parsed);
  // Strict: a field the answer should not have is a wrong shape too, not something to drop silently.
  const extra = typeof parsed === 'object' && parsed !== null && Object.keys(parsed).length !== 3;
  return E.isRight(decoded) && !extra
    ? decoded
    : E.left(`the model's answer has the wrong shape (expected { route, confidence, reason }): ${text.slice(0, 120)}`);
};

const timeout = (ms: number, controller: AbortController): Promise<never> =>
  new Promise((_, reject) => {
    const timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`the model did not answer within ${ms} ms`));
    }, ms);
    controller.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  });

/**
 * The gateway's own analysis (the labelled examples checked by the signals), and, when
 * configured, the model's second opinion. The gateway's answer stands when the model is off, not
 * asked (confident enough, or the security rule decided: the model never overrides it), slow,
 * wrong-shaped or failing; the result says which decided and why.
 */
export const suggestRoute = async (
  task: RoutingTask,
  router: { readonly signals: RoutingSignals; readonly examples: ExampleRouter | undefined },
  settings: AssistSettings,
  ask: SecondOpinion | undefined,
): Promise<AssistedAnalysis> => {
  const heuristic = analyzeWithExamples(task, router.signals, router.examples);
  const bySignals: AssistedAnalysis = heuristic;
  if (settings.mode === 'off' || ask === undefined || heuristic.security_first) return bySignals;
  if (settings.mode === 'low_confidence' && heuristic.confidence >= settings.threshold) return bySignals;
  const controller = new AbortController();
  let advice: E.Either<string, ModelAdvice>;
  try {
    advice = adviceFrom(await Promise.race([ask(task, controller.signal), timeout(settings.timeoutMs, controller)]));
  } catch (error) {
    advice = E.left((error as Error).message);
  } finally {
    controller.abort();
  }
  if (E.isLeft(advice))
    return {
      ...bySignals,
      reason: `${heuristic.reason} The model's second opinion was not used: ${advice.left}.`,
      model_error: advice.left,
    };
  const opinion = advice.right;
  return {
    ...heuristic,
    suggested: opinion.route,
    confidence: opinion.confidence,
    reason: `Suggested ${opinion.route} by the model's second opinion: ${opinion.reason} (the ${heuristic.decided_by} said ${heuristic.suggested} with confidence ${heuristic.confidence}).`,
    decided_by: 'model',
    model_opinion: opinion,
  };
};
