// wink-naive-bayes-text-classifier ships no typings; only what src/routing/examples.ts uses is declared.
declare module 'wink-naive-bayes-text-classifier' {
  interface NaiveBayesTextClassifier {
    definePrepTasks(tasks: ((input: string) => string[])[]): number;
    defineConfig(config: { considerOnlyPresence?: boolean; smoothingFactor?: number }): boolean;
    learn(input: string, label: string): boolean;
    consolidate(): boolean;
    /** Log2 of each label's odds against the rest, highest first; `[['unknown', 0]]` when no word is known. */
    computeOdds(input: string): [string, number][];
  }
  export default function naiveBayesTextClassifier(): NaiveBayesTextClassifier;
}
