import * as t from 'io-ts';

/** The contract's suite: what ran, what failed and why, and the end of its output. */
export const Suite = t.type({
  passed: t.boolean,
  total: t.number,
  failed: t.number,
  skipped: t.number,
  duration_ms: t.number,
  failures: t.array(t.type({ name: t.string, message: t.string })),
  log_tail: t.string,
});
export type Suite = t.TypeOf<typeof Suite>;

const SUITES = ['unit', 'integration', 'acceptance'] as const;
export type SuiteName = (typeof SUITES)[number];

/** The contract's tests object; `all_passing` only when every suite ran and passed. */
export const TestsResult = t.type({ unit: Suite, integration: Suite, acceptance: Suite, all_passing: t.boolean });
export type TestsResult = t.TypeOf<typeof TestsResult>;

/** How much of a suite's output the result carries; the whole log is kept as an artifact. */
const LOG_TAIL_BYTES = 4096;

export const tailOf = (text: string): string =>
  text.length <= LOG_TAIL_BYTES ? text : `…${text.slice(-LOG_TAIL_BYTES)}`;

/** A suite that did not run (no command for it), and why: it never counts as passing. */
export const notRun = (why: string): Suite => ({
  passed: false,
  total: 0,
  failed: 0,
  skipped: 0,
  duration_ms: 0,
  failures: [],
  log_tail: `not run: ${why}`,
});

export const resultOf = (unit: Suite, integration: Suite, acceptance: Suite): TestsResult => ({
  unit,
  integration,
  acceptance,
  all_passing: [unit, integration, acceptance].every((suite) => suite.passed && suite.total > 0),
});

/** One line for a person: "unit 12/12, integration 3/4, acceptance not run". */
export const summaryOf = (tests: TestsResult): string =>
  SUITES.map((name) => {
    const suite = tests[name];
    return suite.total === 0 && !suite.passed
      ? `${name} not run`
      : `${name} ${suite.total - suite.failed - suite.skipped}/${suite.total - suite.skipped} passed`;
  }).join(', ');
