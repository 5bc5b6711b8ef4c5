import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { parse } from 'yaml';
import { analyzeRoute, type RoutingAnalysis } from '../../src/routing/analyze.js';
import { learnFromExamples, loadRoutingExamples, type LabelledTask } from '../../src/routing/examples.js';
import {
  DEFAULT_SIGNALS_FILE,
  loadRoutingSignals,
  ROUTES,
  type Route,
  type RoutingSignals,
} from '../../src/routing/signals.js';
import {
  analyzeWithExamples,
  ARCHITECT_MARGIN,
  MIN_LEAD,
  SIGNALS_WEIGHT,
  type Blend,
} from '../../src/routing/with-examples.js';
import type { Figure } from './eventstore.js';

/**
 * `npm run bench -- routing [--misses]`: the router as shipped (the labelled examples and the
 * signals together) and the signals alone, measured on the example sets — the development set
 * (written with the signals), the tuning set (written blind, for tuning: --misses lists its
 * misses) and eight blind sets the signals were never tuned on (hard cases, broad, uncommon,
 * three of security told by symptom, general-2 and -3), the shipped router by ten-fold
 * cross-validation since it learns from them — and on the four held-out sets and the look-alikes set (written
 * blind, never learnt from, never looked at while tuning): accuracy, each route's recall, the
 * security tasks that reach the architect, accuracy by confidence band (above the auto-confirm
 * threshold it must be ≥ 95%) and the confusion matrix; and the grids the signals' weight, the
 * lead to confirm and the architect's margin were chosen from. Only aggregates of the held-out
 * sets are printed: their misses are not for reading while the router changes.
 */
interface Task {
  readonly route: Route;
  readonly title: string;
  readonly description: string;
  readonly security?: boolean;
}

const AUTO_CONFIRM = (
  parse(readFileSync('config/backend.yaml', 'utf8')) as { routing: { auto_confirm_confidence: number } }
).routing.auto_confirm_confidence;
const BANDS = [0, 0.5, AUTO_CONFIRM, 1.01];

const load = (file: string): Task[] => parse(readFileSync(join('test', 'routing', file), 'utf8')) as Task[];
const loadExamples = (file: string): Task[] =>
  parse(readFileSync(join('config', 'routing-examples', file), 'utf8')) as Task[];

const readSignals = (): RoutingSignals => {
  const loaded = loadRoutingSignals(DEFAULT_SIGNALS_FILE);
  if (E.isLeft(loaded)) throw new Error(loaded.left);
  return loaded.right;
};

const readConfiguredExamples = (): Task[] => {
  const files = (parse(readFileSync('config/backend.yaml', 'utf8')) as { routing: { examples_files: string[] } })
    .routing.examples_files;
  const loaded = loadRoutingExamples(files);
  if (E.isLeft(loaded)) throw new Error(loaded.left);
  return loaded.right.map((example) => ({ ...example, description: example.description ?? '' }));
};

/** The shipped signals and examples, read once, on first use (run.ts imports every benchmark). */
let shippedFiles: { signals: RoutingSignals; examples: Task[] } | undefined;
const shipped = () => (shippedFiles ??= { signals: readSignals(), examples: readConfiguredExamples() });

type Analysed = { task: Task; analysis: RoutingAnalysis }[];

const bySignals = (tasks: readonly Task[]): Analysed => {
  const { signals } = shipped();
  return tasks.map((task) => ({ task, analysis: analyzeRoute(task, signals) }));
};

/** The shipped router, learnt from every configured example. */
const byExamples = (tasks: readonly Task[]): Analysed => {
  const { signals, examples } = shipped();
  const router = learnFromExamples(examples as LabelledTask[]);
  return tasks.map((task) => ({ task, analysis: analyzeWithExamples(task, signals, router) }));
};

/**
 * The shipped router on the tasks it learns from, measured fairly: each tenth of them routed by
 * examples learnt from the other nine tenths (the task's order decides its tenth), once for each
 * way of blending the examples and the signals (the shipped one unless given).
 */
const crossValidated = (tasks: readonly Task[], blends: readonly Blend[] = [{}]): Analysed[] => {
  const { signals, examples: all } = shipped();
  const folds = 10;
  const results: Analysed[] = blends.map(() => []);
  for (let fold = 0; fold < folds; fold++) {
    const held = tasks.filter((_, i) => i % folds === fold);
    const heldTitles = new Set(held.map((task) => task.title));
    const router = learnFromExamples(all.filter((task) => !heldTitles.has(task.title)) as LabelledTask[]);
    blends.forEach((blend, k) =>
      results[k]!.push(...held.map((task) => ({ task, analysis: analyzeWithExamples(task, signals, router, blend) }))),
    );
  }
  return results;
};

/**
 * How the blend was chosen, cross-validated on the example sets the signals were never tuned on:
 * the signals' weight by accuracy and security tasks to the architect; the lead the gateway needs
 * to confirm a route itself by how often the routes it would confirm are right; the margin by
 * which another route must beat the architect by the security tasks that reach the architect,
 * the accuracy, and the other tasks it sends there.
 */
const blendGrid = (blindSets: readonly Task[][]): Figure[] => {
  const weights = [0, 0.5, 1, 1.5, 2, 3];
  const leads = [0, 5, 8, 10, 12, 15, 20];
  const margins = [0, 1, 2, 3, 4, 6, 8, 10];
  const blends: Blend[] = [
    ...weights.map((signalsWeight) => ({ signalsWeight })),
    ...leads.map((minLead) => ({ minLead })),
    ...margins.map((architectMargin) => ({ architectMargin })),
  ];
  const perSet = blindSets.map((tasks) => crossValidated(tasks, blends));
  const resultsOf = (k: number): Analysed => perSet.flatMap((byBlend) => byBlend[k]!);
  const rightIn = (results: Analysed): number =>
    results.filter(({ task, analysis }) => analysis.suggested === task.route).length;
  const securityOf = (results: Analysed): string => {
    const security = results.filter(({ task }) => task.security === true);
    return `security ${security.filter(({ analysis }) => analysis.suggested === 'architect').length}/${security.length}`;
  };
  const byWeight = weights.map((weight, k): Figure => {
    const results = resultsOf(k);
    return {
      name: `signals weight ${weight}${weight === SIGNALS_WEIGHT ? ' (shipped)' : ''}: blind example sets, cross-validated`,
      value: `${percent(rightIn(results), results.length)}, ${securityOf(results)}`,
      target: 'the shipped weight among the best',
      met: undefined,
    };
  });
  const byLead = leads.map((lead, k): Figure => {
    const confirmed = resultsOf(weights.length + k).filter(({ analysis }) => analysis.confidence >= AUTO_CONFIRM);
    const securityElsewhere = confirmed.filter(
      ({ task, analysis }) => task.security === true && analysis.suggested !== 'architect',
    ).length;
    return {
      name: `lead to confirm ${lead}${lead === MIN_LEAD ? ' (shipped)' : ''}: blind example sets, auto-confirmed right`,
      value: `${percent(rightIn(confirmed), confirmed.length)}, security confirmed elsewhere ${securityElsewhere}`,
      target: '≥ 96%, no security task confirmed elsewhere',
      met: undefined,
    };
  });
  const byMargin = margins.map((margin, k): Figure => {
    const results = resultsOf(weights.length + leads.length + k);
    const othersToArchitect = results.filter(
      ({ task, analysis }) => task.route !== 'architect' && analysis.suggested === 'architect',
    ).length;
    return {
      name: `architect margin ${margin}${margin === ARCHITECT_MARGIN ? ' (shipped)' : ''}: blind example sets, cross-validated`,
      value: `${percent(rightIn(results), results.length)}, ${securityOf(results)}, others to architect ${othersToArchitect}`,
      target: 'the most security tasks to the architect, accuracy at most a point below margin 0',
      met: undefined,
    };
  });
  return [...byWeight, ...byLead, ...byMargin];
};

const percent = (part: number, whole: number): string =>
  whole === 0 ? 'n/a' : `${((part / whole) * 100).toFixed(1)}% (${part}/${whole})`;

const measure = (name: string, results: Analysed, printMisses: boolean): Figure[] => {
  const right = (list: typeof results) => list.filter(({ task, analysis }) => analysis.suggested === task.route);
  const figures: Figure[] = [
    {
      name: `${name}: accuracy`,
      value: percent(right(results).length, results.length),
      target: '≥ 90%',
      met: right(results).length / results.length >= 0.9,
    },
  ];
  for (const route of ROUTES) {
    const ofRoute = results.filter(({ task }) => task.route === route);
    figures.push({
      name: `${name}: recall ${route}`,
      value: percent(right(ofRoute).length, ofRoute.length),
      target: '≥ 80%',
      met: right(ofRoute).length / ofRoute.length >= 0.8,
    });
  }
  const security = results.filter(({ task }) => task.security === true);
  if (security.length > 0) {
    const toArchitect = security.filter(({ analysis }) => analysis.suggested === 'architect').length;
    figures.push({
      name: `${name}: security tasks to architect`,
      value: percent(toArchitect, security.length),
      target: '100%',
      met: toArchitect === security.length,
    });
  }
  for (let band = 0; band < BANDS.length - 1; band++) {
    const [from, to] = [BANDS[band]!, BANDS[band + 1]!];
    const inBand = results.filter(({ analysis }) => analysis.confidence >= from && analysis.confidence < to);
    const confident = from >= AUTO_CONFIRM;
    figures.push({
      name: `${name}: confidence ${from.toFixed(2)}–${Math.min(to, 1).toFixed(2)}`,
      value: percent(right(inBand).length, inBand.length),
      target: confident ? '≥ 95% (auto-confirmed)' : 'a person confirms',
      met: confident ? inBand.length === 0 || right(inBand).length / inBand.length >= 0.95 : undefined,
    });
  }
  const header = ['expected \\ got', ...ROUTES].map((cell) => cell.padStart(14)).join('');
  const rows = ROUTES.map((expected) =>
    [
      expected,
      ...ROUTES.map((got) =>
        String(results.filter(({ task, analysis }) => task.route === expected && analysis.suggested === got).length),
      ),
    ]
      .map((cell) => cell.padStart(14))
      .join(''),
  );
  console.log(`${name}: confusion matrix (rows: the label, columns: the router)\n${header}\n${rows.join('\n')}\n`);
  if (printMisses)
    for (const { task, analysis } of results.filter(({ task, analysis }) => analysis.suggested !== task.route))
      console.log(`  ${name} miss: ${task.route} → ${analysis.suggested} (${analysis.confidence}): ${task.title}`);
  return figures;
};

/** How often a second annotator, labelling the held-out set blind, agrees with its labels. */
const annotatorAgreement = (): Figure[] => {
  const tasks = load('held-out.yaml');
  const second = parse(readFileSync(join('test', 'routing', 'held-out-second-annotator.yaml'), 'utf8')) as {
    id: number;
    route: Route;
  }[];
  const agreed = second.filter((label) => tasks[label.id - 1]?.route === label.route).length;
  return [
    {
      name: 'held-out set: two annotators agree',
      value: percent(agreed, tasks.length),
      target: 'the ceiling for any router',
      met: undefined,
    },
  ];
};

export const benchRouting = async (): Promise<Figure[]> => {
  const misses = process.argv.includes('--misses');
  const [development, tuning] = [loadExamples('development.yaml'), loadExamples('tuning.yaml')];
  // Written blind, and never used to tune the signals: the weight grid is measured on these.
  const blind: [string, Task[]][] = [
    ['hard-cases', loadExamples('blind-hard-cases.yaml')],
    ['broad', loadExamples('blind-broad.yaml')],
    ['uncommon', loadExamples('blind-uncommon.yaml')],
    ['symptoms', loadExamples('blind-symptoms.yaml')],
    ['symptoms-2', loadExamples('blind-symptoms-2.yaml')],
    ['general-2', loadExamples('blind-general-2.yaml')],
    ['symptoms-3', loadExamples('blind-symptoms-3.yaml')],
    ['general-3', loadExamples('blind-general-3.yaml')],
  ];
  const heldOut: [string, Task[]][] = [
    ['held-out', load('held-out.yaml')],
    ['second held-out', load('held-out-2.yaml')],
    ['third held-out', load('held-out-3.yaml')],
    ['fourth held-out', load('held-out-4.yaml')],
    ['look-alikes', load('look-alikes.yaml')],
  ];
  const sets: [string, Task[]][] = [['development', development], ['tuning', tuning], ...blind];
  return [
    ...annotatorAgreement(),
    ...blendGrid(blind.map(([, tasks]) => tasks)),
    ...heldOut.flatMap(([name, tasks]) => measure(`shipped, ${name} set`, byExamples(tasks), false)),
    ...sets.flatMap(([name, tasks]) =>
      measure(`shipped, ${name} set (cross-validated)`, crossValidated(tasks)[0]!, misses && name === 'tuning'),
    ),
    ...[...heldOut, ...sets].flatMap(([name, tasks]) =>
      measure(`signals alone, ${name} set`, bySignals(tasks), misses && name === 'tuning'),
    ),
  ];
};
