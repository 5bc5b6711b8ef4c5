import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabManifest } from '../labs/lab-manifest.js';
import type { RuntimeKind } from '../labs/runtime.js';
import { baseEnvironment, runBounded } from '../shared/run-bounded.js';
import { runAcceptance } from './acceptance.js';
import { fillPlaceholders, integrationCommand, unitCommand } from './commands.js';
import { parseJUnit } from './junit.js';
import { notRun, resultOf, tailOf, type Suite, type SuiteName, type TestsResult } from './results.js';

export interface TestRunOptions {
  /** The session's worktree of the deployed repo: where the repository's own test commands run. */
  readonly worktree: string;
  readonly labUrl: string;
  readonly runtime: RuntimeKind;
  readonly manifest: LabManifest;
  /** The text files of the deployed commit, to tell which tests it has. */
  readonly files: ReadonlyMap<string, string>;
  /** Where each suite's whole log and JUnit report are kept. */
  readonly artifactsDir: string;
  /** Per suite. */
  readonly timeoutMs: number;
}

export interface TestRun {
  readonly tests: TestsResult;
  /** The whole log of each suite that ran. */
  readonly artifacts: Partial<Record<SuiteName, string>>;
}

/** A command suite's result: from its JUnit report when the runner wrote one, else from its exit code. */
const commandSuite = async (
  name: SuiteName,
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
  const junit = join(options.artifactsDir, `${name}.xml`);
  await rm(junit, { force: true });
  const [command, ...args] = fillPlaceholders(argv, { junit, labUrl: options.labUrl });
  const run = await runBounded(command!, args, {
    cwd: options.worktree,
    env: { ...baseEnvironment(options.worktree), LAB_URL: options.labUrl, GATEWAY_JUNIT_FILE: junit, CI: 'true' },
    timeoutMs: options.timeoutMs,
  });
  const log = `$ ${[command, ...args].join(' ')}\n${run.output}\n`;
  const logPath = join(options.artifactsDir, `${name}.log`);
  await writeFile(logPath, log);
  artifacts[name] = logPath;
  const base = { duration_ms: run.durationMs, log_tail: tailOf(log) };
  // A suite that did not run to its end is one failure, saying why.
  const stoppedShort = (message: string) => ({
    ...base,
    passed: false,
    total: 1,
    failed: 1,
    skipped: 0,
    failures: [{ name, message }],
  });
  if (run.timedOut) return stoppedShort(`did not finish within ${Math.round(options.timeoutMs / 1000)} s; stopped`);
  if (run.notFound) return stoppedShort(`${command} was not found`);
  const report = parseJUnit(await readFile(junit, 'utf8').catch(() => ''));
  if (report && report.total > 0)
    return { ...base, ...report, failures: [...report.failures], passed: run.exitCode === 0 && report.failed === 0 };
  const passed = run.exitCode === 0;
  return {
    ...base,
    passed,
    total: 1,
    failed: passed ? 0 : 1,
    skipped: 0,
    failures: passed
      ? []
      : [
          {
            name,
            message: `exited with ${run.exitCode === undefined ? `signal ${run.signal ?? 'unknown'}` : `code ${run.exitCode}`}`,
          },
        ],
  };
};

/**
 * Runs a deployment's three suites: unit tests in the worktree with the repository's own command,
 * integration tests with the lab's URL in LAB_URL, acceptance checks over HTTP against the lab.
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
  const acceptance = await runAcceptance(options.manifest.acceptance, options.labUrl, options.timeoutMs);
  if (acceptance.log) {
    artifacts.acceptance = join(options.artifactsDir, 'acceptance.log');
    await writeFile(artifacts.acceptance, acceptance.log);
  }
  return { tests: resultOf(unit, integration, acceptance.suite), artifacts };
};
