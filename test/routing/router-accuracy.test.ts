import test from 'ava';
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { parse } from 'yaml';
import { analyzeRoute } from '../../src/routing/analyze.js';
import { DEFAULT_SIGNALS_FILE, loadRoutingSignals, type Route } from '../../src/routing/signals.js';

interface LabelledTask {
  readonly route: Route;
  readonly title: string;
  readonly description: string;
}

const tasks = parse(readFileSync('config/routing-examples/development.yaml', 'utf8')) as LabelledTask[];
const loaded = loadRoutingSignals(DEFAULT_SIGNALS_FILE);
if (E.isLeft(loaded)) throw new Error(loaded.left);
const signals = loaded.right;

test('the labelled set is large and covers every route', (t) => {
  t.true(tasks.length >= 60, `${tasks.length} tasks`);
  for (const route of ['architect', 'pm', 'builder', 'party-mode'] as const)
    t.true(tasks.filter((task) => task.route === route).length >= 12, route);
});

test('routing accuracy on the labelled set is at least 90%, and confidence is calibrated', (t) => {
  const results = tasks.map((task) => ({ task, analysis: analyzeRoute(task, signals) }));
  const correct = results.filter(({ task, analysis }) => analysis.suggested === task.route);
  const accuracy = correct.length / results.length;
  const misses = results
    .filter(({ task, analysis }) => analysis.suggested !== task.route)
    .map(
      ({ task, analysis }) =>
        `  expected ${task.route}, got ${analysis.suggested} (${analysis.confidence}): ${task.title}`,
    );
  // Calibration: split by confidence into thirds; accuracy must not fall as confidence rises.
  const sorted = [...results].sort((a, b) => a.analysis.confidence - b.analysis.confidence);
  const third = Math.ceil(sorted.length / 3);
  const bands = [sorted.slice(0, third), sorted.slice(third, 2 * third), sorted.slice(2 * third)].map((band) => ({
    from: band[0]!.analysis.confidence,
    to: band[band.length - 1]!.analysis.confidence,
    accuracy: band.filter(({ task, analysis }) => analysis.suggested === task.route).length / band.length,
  }));
  const report = [
    `routing accuracy: ${correct.length}/${results.length} = ${(accuracy * 100).toFixed(1)}% (target ≥ 90%)`,
    ...bands.map(
      (band) =>
        `  confidence ${band.from.toFixed(2)}–${band.to.toFixed(2)}: accuracy ${(band.accuracy * 100).toFixed(0)}%`,
    ),
    ...misses,
  ].join('\n');
  t.log(report);
  console.log(report);
  t.true(accuracy >= 0.9, report);
  t.true(bands[2]!.accuracy >= bands[0]!.accuracy, 'higher confidence means higher accuracy');
});
