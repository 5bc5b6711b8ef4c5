import test, { type ExecutionContext } from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabManifest } from '../../src/labs/lab-manifest.js';
import { parseJUnit } from '../../src/testing/junit.js';
import { summaryOf } from '../../src/testing/results.js';
import { runTests, type TestRunOptions } from '../../src/testing/run-tests.js';
import { startKubeletLab, type KubeletLab } from '../support/kubelet-lab.js';
import { whyNotHere } from '../support/local-kubelet.js';
import { withLockFile } from '../support/npm-lock.js';

const why = whyNotHere();
if (why !== undefined) console.warn(`tests in lab Jobs skipped: ${why}`);
const kubeletTest = why === undefined ? test.serial : test.serial.skip;

/** A Node app with a real test suite: two tests pass, one fails; and an integration test of its health. */
const NODE_REPO: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'billing', scripts: { start: 'node server.js', test: 'node --test test/' } }),
  'server.js': [
    "require('node:http').createServer((q, s) => {",
    "  if (q.url === '/health') return s.end('ok');",
    "  if (q.url === '/') return s.end('<h1>Welcome to billing</h1>');",
    "  s.writeHead(404).end('not here');",
    '}).listen(Number(process.env.PORT));',
    '',
  ].join('\n'),
  'test/math.test.mjs': [
    "import test from 'node:test';",
    "import assert from 'node:assert/strict';",
    "test('adds', () => assert.equal(1 + 1, 2));",
    "test('multiplies', () => assert.equal(2 * 3, 6));",
    "test('rounds prices', () => assert.equal(Math.round(2.5 * 100) / 100, 2.4, 'rounding is off'));",
    '',
  ].join('\n'),
  'integration.mjs':
    "const r = await fetch(new URL('/health', process.env.LAB_URL)); console.log('health', r.status); process.exit(r.status === 200 ? 0 : 1);\n",
};

const optionsFor = async (
  t: ExecutionContext,
  lab: KubeletLab,
  manifest: LabManifest,
  files: Record<string, string> = NODE_REPO,
): Promise<TestRunOptions> => {
  const artifactsDir = await mkdtemp(join(tmpdir(), 'tests-artifacts-'));
  t.teardown(() => rm(artifactsDir, { recursive: true, force: true }));
  return {
    cluster: lab.cluster,
    jobFor: (suite, argv) => lab.jobFor(suite, argv),
    acceptanceUrl: lab.serviceProxyUrl,
    runtime: 'node',
    manifest,
    files: new Map(Object.entries(files)),
    artifactsDir,
    timeoutMs: 120_000,
    signal: new AbortController().signal,
  };
};

kubeletTest(
  'three suites: unit tests in a Job from the runner’s JUnit report, integration tests in a Job against the lab’s Service, acceptance checks over HTTP',
  async (t) => {
    const lab = await startKubeletLab(t, NODE_REPO);
    const manifest: LabManifest = {
      tests: {
        unit: ['node', '--test', '--test-reporter=junit', '--test-reporter-destination={junit}', 'test/'],
        integration: ['node', 'integration.mjs'],
      },
      acceptance: [
        { name: 'home page', path: '/', expect_body: 'Welcome' },
        { name: 'health', path: '/health', expect_status: 200 },
        { name: 'reports', path: '/reports', expect_status: 200 },
        { name: 'title', path: '/', expect_body: 'Goodbye' },
      ],
    };
    const options = await optionsFor(t, lab, manifest);
    const { tests, artifacts } = await runTests(options);
    t.like(tests.unit, { passed: false, total: 3, failed: 1, skipped: 0 });
    t.is(tests.unit.failures.length, 1);
    t.regex(tests.unit.failures[0]!.name, /rounds prices/);
    t.regex(tests.unit.failures[0]!.message, /rounding is off/);
    t.is(
      parseJUnit(await readFile(join(options.artifactsDir, 'unit.xml'), 'utf8'))?.total,
      3,
      'the counts come from the runner’s own report, read back from the pod’s log',
    );
    t.like(tests.integration, { passed: true, total: 1, failed: 0 });
    t.regex(await readFile(artifacts.integration!, 'utf8'), /health 200/, 'the Job reached the lab through LAB_URL');
    t.like(tests.acceptance, { passed: false, total: 4, failed: 2 });
    t.deepEqual(tests.acceptance.failures, [
      { name: 'reports', message: 'expected HTTP 200, got 404' },
      { name: 'title', message: 'the body does not contain "Goodbye"' },
    ]);
    t.false(tests.all_passing);
    t.is(summaryOf(tests), 'unit 2/3 passed, integration 1/1 passed, acceptance 2/4 passed');
    // The whole logs are kept; the result carries their tails.
    t.regex(await readFile(artifacts.unit!, 'utf8'), /^\$ node --test --test-reporter=junit/);
    t.notRegex(
      await readFile(artifacts.unit!, 'utf8'),
      /::ai-dev-gateway/,
      'the script’s reports are not the suite’s output',
    );
    t.regex(tests.acceptance.log_tail, /FAIL reports: GET \/reports — expected HTTP 200, got 404/);

    // What ran the repository's code: a Job per suite, with no key to the cluster, and gone afterwards.
    t.deepEqual(
      lab.jobs.map((job) => job.metadata.name.split('-').slice(0, 2).join('-')),
      ['tests-unit', 'tests-integration'],
    );
    for (const job of lab.jobs) {
      const spec = job['spec'] as {
        activeDeadlineSeconds: number;
        backoffLimit: number;
        template: { spec: Record<string, unknown> };
      };
      t.is(spec.template.spec['automountServiceAccountToken'], false);
      t.is(spec.activeDeadlineSeconds, 120);
      t.is(spec.backoffLimit, 0);
    }
    t.deepEqual(lab.fake.objects('Job', lab.namespace), [], 'the Jobs are deleted');
    t.deepEqual(
      lab.fake.objects('Pod', lab.namespace).filter((pod) => pod.metadata.labels?.['job-name']),
      [],
      'and their pods with them',
    );
  },
);

kubeletTest(
  'all passing only when every suite ran and passed; a detected `npm test` counts by its exit code; dev dependencies are there for the tests',
  async (t) => {
    // The unit test needs a devDependency, which the lab's own install leaves out (--omit=dev).
    const passing = {
      ...NODE_REPO,
      ...withLockFile({
        name: 'billing',
        private: true,
        scripts: { start: 'node server.js', test: 'node --test test/' },
        devDependencies: { ms: '2.1.3' },
      }),
      'test/math.test.mjs':
        "import test from 'node:test';\nimport assert from 'node:assert/strict';\nimport ms from 'ms';\ntest('a second', () => assert.equal(ms('1s'), 1000));\n",
    };
    const lab = await startKubeletLab(t, passing);
    const options = await optionsFor(
      t,
      lab,
      { tests: { integration: ['node', 'integration.mjs'] }, acceptance: [{ name: 'health', path: '/health' }] },
      passing,
    );
    const { tests } = await runTests(options);
    t.like(
      tests.unit,
      { passed: true, total: 1, failed: 0 },
      'npm test, no JUnit report: one result from the exit code',
    );
    t.true(tests.all_passing);

    const none = await runTests(await optionsFor(t, lab, {}, { 'package.json': '{"name":"x"}' }));
    t.like(none.tests.unit, {
      passed: false,
      total: 0,
      log_tail: 'not run: no unit test command: none declared in .lab.yaml and none detected',
    });
    t.like(none.tests.acceptance, { passed: false, total: 0 });
    t.false(none.tests.all_passing, 'suites that did not run are not passing');
  },
);

kubeletTest(
  'a suite over its timeout is stopped by its Job’s deadline; a missing runner, dependencies that cannot be installed or an unreachable lab are failures that say so',
  async (t) => {
    const lab = await startKubeletLab(t, NODE_REPO);
    // A port nothing listens on any more: the lab as the acceptance checks see it is down.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const downUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const options = await optionsFor(t, lab, {
      tests: { unit: ['node', '-e', 'setTimeout(() => {}, 60000)'], integration: ['no-such-test-runner'] },
      acceptance: [{ name: 'home', path: '/' }],
    });
    const { tests } = await runTests({
      ...options,
      acceptanceUrl: downUrl,
      timeoutMs: 3000,
      // Only the unit suite's deadline is under test: the missing runner's pod must have time to
      // start and fail on a loaded machine, or it too would be stopped at 3 s.
      jobFor: (suite, argv) => lab.jobFor(suite, argv, suite === 'unit' ? 3 : 60),
    });
    t.deepEqual(tests.unit.failures, [{ name: 'unit', message: 'did not finish within 3 s; stopped' }]);
    t.deepEqual(tests.integration.failures, [{ name: 'integration', message: 'no-such-test-runner was not found' }]);
    t.regex(tests.acceptance.failures[0]!.message, /GET \/ could not be sent: .*ECONNREFUSED/);

    const unresolvable = {
      ...NODE_REPO,
      'package.json': JSON.stringify({
        name: 'billing',
        scripts: { test: 'node --test test/' },
        devDependencies: { 'ai-dev-gateway-no-such-package-4f1c': '1.0.0' },
      }),
    };
    // Its own lab, whose app never starts either: the Job installs the dev dependencies the app does not need.
    const brokenLab = await startKubeletLab(t, unresolvable, { project: 'broken', waitForApp: false });
    const broken = await runTests(await optionsFor(t, brokenLab, {}, unresolvable));
    t.deepEqual(broken.tests.unit.failures, [
      { name: 'unit', message: 'installing the dependencies failed; the tests did not run (see the log)' },
    ]);
  },
);

test('JUnit reports as pytest and Maven write them: nested suites, errors and skips counted from the cases', (t) => {
  const pytest = `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="4"><testcase classname="tests.test_app" name="test_ok" time="0.001"/><testcase classname="tests.test_app" name="test_bad" time="0.002"><failure message="assert 1 == 2">def test_bad():\n&gt;  assert 1 == 2</failure></testcase><testcase classname="tests.test_app" name="test_skip"><skipped message="later"/></testcase><testcase classname="tests.test_app" name="test_boom"><error message="ZeroDivisionError"/></testcase></testsuite></testsuites>`;
  t.deepEqual(parseJUnit(pytest), {
    total: 4,
    failed: 2,
    skipped: 1,
    failures: [
      { name: 'tests.test_app › test_bad', message: 'assert 1 == 2' },
      { name: 'tests.test_app › test_boom', message: 'ZeroDivisionError' },
    ],
  });
  const nested = `<testsuites><testsuite name="a"><testsuite name="b"><testcase name="inner"/></testsuite><testcase name="outer"/></testsuite></testsuites>`;
  t.like(parseJUnit(nested), { total: 2, failed: 0 });
  t.is(parseJUnit('not xml at all <'), undefined);
  t.is(parseJUnit('<html><body/></html>'), undefined);
});
