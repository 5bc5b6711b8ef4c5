import type * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { readYamlFile } from './yaml-file.js';

export const ROUTES = ['architect', 'pm', 'builder', 'party-mode'] as const;
export const Route = t.keyof(
  { architect: null, pm: null, builder: null, 'party-mode': null },
  'architect | pm | builder | party-mode',
);
export type Route = t.TypeOf<typeof Route>;

const Signal = t.type({ term: t.string, weight: t.number });

export const RoutingSignals = t.type({
  title_weight: t.number,
  negations: t.array(t.string),
  negation_window: t.number,
  routes: t.type({
    architect: t.array(Signal),
    pm: t.array(Signal),
    builder: t.array(Signal),
    'party-mode': t.array(Signal),
  }),
  /**
   * The seed's first rule: security-sensitive work goes to the architect. These terms add to the
   * architect's score, and once they reach security_precedence the architect is suggested
   * whatever else matched ("fix SQL injection" is security work, not a small fix).
   */
  security: t.array(Signal),
  security_precedence: t.number,
  components: t.array(t.string),
  components_threshold: t.number,
  components_weight: t.number,
  long_description_words: t.number,
  long_description_weight: t.number,
  conflict_ratio: t.number,
  conflict_weight: t.number,
  no_signal_route: Route,
});
export type RoutingSignals = t.TypeOf<typeof RoutingSignals>;

export const DEFAULT_SIGNALS_FILE = 'config/routing-signals.yaml';

/** Reads and checks the operator's signal file; a bad file stops start-up with every problem named. */
export const loadRoutingSignals = (file: string): E.Either<string, RoutingSignals> =>
  readYamlFile(file, RoutingSignals, 'routing signals');
