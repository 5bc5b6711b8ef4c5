import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabCluster } from '../labs/cluster.js';
import type { LabManifest } from '../labs/lab-manifest.js';
import type { KubeObject } from '../labs/manifests.js';
import type { RuntimeKind } from '../labs/runtime-kind.js';
import { markerOf, TEST_CONTAINER, type JobSuite } from '../labs/test-job.js';
import { runAcceptance } from './acceptance.js';
import { integrationCommand, unitCommand } from './commands.js';
import { readJobLog } from './job-log.js';
import { parseJUnit } from './junit.js';
import { notRun, resultOf, tailOf, type Suite, type SuiteName, type TestsResult } from './results.js';

export interface TestRunOptions {
  /** Where the suites that run the repository's code run: Jobs in the lab's namespace. */
  readonly cluster: Pick<LabCluster, 'runJob'>;
  /** The Job of a suite, for its command. */
  readonly jobFor: (suite: JobSuite, argv: readonly string[]) => KubeObject;
  /** Where the gateway's own acceptance checks reach the lab. */
  readonly acceptanceUrl: string;
  readonly runtime: RuntimeKind;
  readonly manifest: LabManifest;
  /** The text files of the deployed commit, to tell which tests it has. */
  readonly files: ReadonlyMap<string, string>;
  /** Where each suite's whole log and JUnit report are kept. */
  readonly artifactsDir: string;
  /** Per suite. */
  readonly timeoutMs: number;
  /** Aborted when the gateway stops: a Job under way is left to run, to be waited for again. */
  readonly signal: AbortSignal;
}

export interface TestRun {
  readonly tests: TestsResult;
  /** The whole log of each suite that ran. */
  readonly artifacts: Partial<Record<SuiteName, string>>;
}

/** Time the gateway waits past a suite's own deadline for the Job to say how it ended (pulls, scheduling). */
const JOB_GRACE_MS = 120_000;

/** A suite that did not run to its end is one failure, saying why. */
const stoppedShort = (name: SuiteName, base: Pick<Suite, 'duration_ms' | 'log_tail'>, message: string): Suite => ({
  ...base,
  passed: false,
  total: 1,
  failed: 1,
  skipped: 0,
  failures: [{ name, message }],
});

/** Why a Job gave no exit code of its command, or undefined when it did. */
const whyNoResult = (
  run: Awaited<ReturnType<LabCluster['runJob']>>,
  report: ReturnType<typeof readJobLog>,
  timeoutMs: number,
): string | undefined => {
  if (run.ended === 'failed' && run.reason.startsWith('DeadlineExceeded'))
    return `did not finish within ${Math.round(timeoutMs / 1000)} s; stopped`;
  if (run.ended === 'gave-up') return run.reason;
  if (report.installFailed) return 'installing the dependencies failed; the tests did not run (see the log)';
  if (run.podProblem) return `the test pod could not gather the code: ${run.podProblem}`;
  if (report.exitCode === undefined && run.exitCode === undefined)
    return `the test Job ended (${run.ended}${run.reason ? `: ${run.reason}` : ''}) without a result`;
  return undefined;
};

/** A command suite's result, from its Job: its JUnit report when the runner wrote one, else its exit code. */
const commandSuite = async (
  name: JobSuite,
  argv: readonly string[] | undefined,
  options: TestRunOptions,
  artifacts: Partial<Record<SuiteName, string>>,
): Promise<Suite> => {
  if (!argv || argv.length === 0)
    return notRun(
      name === 'unit'
        ? 'no unit test command: none declared in .lab.yaml and none detected'
        : 'no integration test command declared in .lab.yaml (tests.integration)',
    );
  const job = options.jobFor(name, argv);
  const started = performance.now();
  const run = await options.cluster.runJob(job, {
    container: TEST_CONTAINER,
    giveUpAfterMs: options.timeoutMs + JOB_GRACE_MS,
    signal: options.signal,
  });
  const report = readJobLog(run.log, markerOf(job.metadata.name));
  const log = `$ ${argv.join(' ')}\n${report.output}\n`;
  artifacts[name] = join(options.artifactsDir, `${name}.log`);
  await writeFile(artifacts[name], log);
  if (report.junit) await writeFile(join(options.artifactsDir, `${name}.xml`), report.junit);
  const base = { duration_ms: Math.round(performance.now() - started), log_tail: tailOf(log) };
  const why = whyNoResult(run, report, options.timeoutMs);
  if (why) return stoppedShort(name, base, why);
  const exitCode = report.exitCode ?? run.exitCode!;
  const junit = parseJUnit(report.junit ?? '');
  if (junit && junit.total > 0)
    return { ...base, ...junit, failures: [...junit.failures], passed: exitCode === 0 && junit.failed === 0 };
  if (exitCode === 127) return stoppedShort(name, base, `${argv[0]} was not found`);
  const passed = exitCode === 0;
  return {
    ...base,
    passed,
    total: 1,
    failed: passed ? 0 : 1,
    skipped: 0,
    failures: passed ? [] : [{ name, message: `exited with code ${exitCode}` }],
  };
};

/**
 * Runs a deployment's three suites: unit and integration tests with the repository's own commands,
 * each in a Job of the lab (never in the gateway), integration tests with the lab's Service in
 * LAB_URL; then the acceptance checks the lab manifest declares, made by the gateway over HTTP.
 */
export const runTests = async (options: TestRunOptions): Promise<TestRun> => {
  await mkdir(options.artifactsDir, { recursive: true });
  const artifacts: Partial<Record<SuiteName, string>> = {};
  const unit = await commandSuite(
    'unit',
    unitCommand(options.runtime, options.manifest, options.files),
    options,
    artifacts,
  );
  const integration = await commandSuite('integration', integrationCommand(options.manifest), options, artifacts);
  const acceptance = await runAcceptance(options.manifest.acceptance, options.acceptanceUrl, options.timeoutMs);
  if (acceptance.log) {
    artifacts.acceptance = join(options.artifactsDir, 'acceptance.log');
    await writeFile(artifacts.acceptance, acceptance.log);
  }
  return { tests: resultOf(unit, integration, acceptance.suite), artifacts };
};
