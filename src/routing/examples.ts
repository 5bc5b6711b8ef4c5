import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import naiveBayesTextClassifier from 'wink-naive-bayes-text-classifier';
import { readYamlFile } from './yaml-file.js';
import { stemsOf, tokenize } from './words.js';
import { Route, ROUTES } from './signals.js';

/** A task as people wrote it in Slack, with the route a team lead gave it. */
const LabelledTask = t.intersection([
  t.type({ route: Route, title: t.string }),
  t.partial({ description: t.union([t.string, t.null]) }),
]);
const LabelledTasks = t.array(LabelledTask);
export type LabelledTask = t.TypeOf<typeof LabelledTask>;

/**
 * The words a classifier sees: stems, and pairs of neighbouring stems ("product id" is not
 * "product"), of the title and the description together.
 */
const featuresOf = (text: string): string[] => {
  const stems = stemsOf(text);
  const pairs = stems.slice(1).map((stem, i) => `${stems[i]} ${stem}`);
  return [...stems, ...pairs];
};

const textOf = (task: { title: string; description?: string | null }): string =>
  `${task.title}. ${task.description ?? ''}`;

/** What the examples say of a task: each route's log2 odds against the others, best first. */
interface ExampleOpinion {
  readonly ranked: readonly { readonly route: Route; readonly logOdds: number }[];
  /** The task's words that alone lean most to the best route, strongest first (at most three). */
  readonly terms: readonly string[];
}

export type ExampleRouter = (task: {
  readonly title: string;
  readonly description: string;
}) => ExampleOpinion | undefined;

/**
 * A naive Bayes text classifier (wink-naive-bayes-text-classifier) learnt from labelled tasks.
 * Settings chosen by ten-fold cross-validation on the development and tuning sets alone (the
 * routing bench prints it): word presence rather than counts, additive smoothing 0.5.
 */
export const learnFromExamples = (examples: readonly LabelledTask[]): ExampleRouter => {
  const classifier = naiveBayesTextClassifier();
  classifier.definePrepTasks([featuresOf]);
  classifier.defineConfig({ considerOnlyPresence: true, smoothingFactor: 0.5 });
  for (const example of examples) classifier.learn(textOf(example), example.route);
  classifier.consolidate();
  return (task) => {
    const odds = classifier.computeOdds(textOf(task));
    const ranked = odds
      .filter(([label]) => (ROUTES as readonly string[]).includes(label))
      .map(([label, logOdds]) => ({ route: label as Route, logOdds }));
    // No word of the task was in any example: the examples have nothing to say.
    if (ranked.length !== ROUTES.length) return undefined;
    const best = ranked[0]!.route;
    // Each stem once, in the order the task first uses it, shown as the word it last wrote for it.
    const wordOf = new Map(tokenize(`${task.title} ${task.description}`).map((token) => [token.stem, token.word]));
    const leaning = [...wordOf.keys()]
      .map((stem) => ({ stem, odds: classifier.computeOdds(stem) }))
      .filter(({ odds }) => odds[0]![0] === best && odds[0]![1] > 0)
      .sort((a, b) => b.odds[0]![1] - a.odds[0]![1])
      .slice(0, 3);
    return { ranked, terms: leaning.map(({ stem }) => wordOf.get(stem)!) };
  };
};

/** Reads the labelled examples of each file, every bad entry named. */
export const loadRoutingExamples = (files: readonly string[]): E.Either<string, LabelledTask[]> => {
  const examples: LabelledTask[] = [];
  for (const file of files) {
    const loaded = readYamlFile(file, LabelledTasks, 'routing examples');
    if (E.isLeft(loaded)) return loaded;
    examples.push(...loaded.right);
  }
  return E.right(examples);
};
