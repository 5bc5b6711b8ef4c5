import test, { type ExecutionContext } from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { LabManifest } from '../../src/labs/lab-manifest.js';
import { parseJUnit } from '../../src/testing/junit.js';
import { summaryOf } from '../../src/testing/results.js';
import { runTests, type TestRunOptions } from '../../src/testing/run-tests.js';

/** A real repository folder with a real Node test suite: two tests pass, one fails. */
const NODE_REPO: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'billing', scripts: { test: 'node --test test/' } }),
  'test/math.test.mjs': [
    "import test from 'node:test';",
    "import assert from 'node:assert/strict';",
    "test('adds', () => assert.equal(1 + 1, 2));",
    "test('multiplies', () => assert.equal(2 * 3, 6));",
    "test('rounds prices', () => assert.equal(Math.round(2.5 * 100) / 100, 2.4, 'rounding is off'));",
    '',
  ].join('\n'),
  'integration.mjs':
    "const r = await fetch(new URL('/health', process.env.LAB_URL)); process.exit(r.status === 200 ? 0 : 1);\n",
};

const repoWith = async (t: ExecutionContext, files: Record<string, string>) => {
  const dir = await mkdtemp(join(tmpdir(), 'tests-repo-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
};

/** The lab: a real HTTP server on 127.0.0.1. */
const startLab = async (t: ExecutionContext) => {
  const server = createServer((request, response) => {
    if (request.url === '/health') return void response.end('ok');
    if (request.url === '/') return void response.end('<h1>Welcome to billing</h1>');
    response.writeHead(404).end('not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const optionsFor = async (
  t: ExecutionContext,
  manifest: LabManifest,
  files = NODE_REPO,
  labUrl?: string,
): Promise<TestRunOptions> => {
  const worktree = await repoWith(t, files);
  return {
    worktree,
    labUrl: labUrl ?? (await startLab(t)),
    runtime: 'node',
    manifest,
    files: new Map(Object.entries(files)),
    artifactsDir: join(worktree, '..', `${worktree.split('/').pop()}-artifacts`),
    timeoutMs: 60_000,
  };
};

test('three suites: unit tests from the runner’s JUnit report, integration tests against LAB_URL, acceptance checks over HTTP', async (t) => {
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
  const options = await optionsFor(t, manifest);
  t.teardown(() => rm(options.artifactsDir, { recursive: true, force: true }));
  const { tests, artifacts } = await runTests(options);
  t.like(tests.unit, { passed: false, total: 3, failed: 1, skipped: 0 });
  t.is(tests.unit.failures.length, 1);
  t.regex(tests.unit.failures[0]!.name, /rounds prices/);
  t.is(
    parseJUnit(await readFile(join(options.artifactsDir, 'unit.xml'), 'utf8'))?.total,
    3,
    'the counts come from the runner’s own report',
  );
  t.regex(tests.unit.failures[0]!.message, /rounding is off/);
  t.like(tests.integration, { passed: true, total: 1, failed: 0 });
  t.like(tests.acceptance, { passed: false, total: 4, failed: 2 });
  t.deepEqual(tests.acceptance.failures, [
    { name: 'reports', message: 'expected HTTP 200, got 404' },
    { name: 'title', message: 'the body does not contain "Goodbye"' },
  ]);
  t.false(tests.all_passing);
  t.is(summaryOf(tests), 'unit 2/3 passed, integration 1/1 passed, acceptance 2/4 passed');
  // The whole logs are kept; the result carries their tails.
  t.regex(await readFile(artifacts.unit!, 'utf8'), /^\$ node --test --test-reporter=junit/);
  t.regex(tests.acceptance.log_tail, /FAIL reports: GET \/reports — expected HTTP 200, got 404/);
});

test('all passing only when every suite ran and passed; a detected `npm test` counts by its exit code', async (t) => {
  const passing = { ...NODE_REPO, 'test/math.test.mjs': "import test from 'node:test';\ntest('adds', () => {});\n" };
  const options = await optionsFor(
    t,
    { tests: { integration: ['node', 'integration.mjs'] }, acceptance: [{ name: 'health', path: '/health' }] },
    passing,
  );
  t.teardown(() => rm(options.artifactsDir, { recursive: true, force: true }));
  const { tests } = await runTests(options);
  t.like(tests.unit, { passed: true, total: 1, failed: 0 }, 'npm test, no JUnit report: one result from the exit code');
  t.true(tests.all_passing);

  const bare = await optionsFor(t, {}, { 'package.json': '{"name":"x"}' });
  t.teardown(() => rm(bare.artifactsDir, { recursive: true, force: true }));
  const none = await runTests(bare);
  t.like(none.tests.unit, {
    passed: false,
    total: 0,
    log_tail: 'not run: no unit test command: none declared in .lab.yaml and none detected',
  });
  t.like(none.tests.acceptance, { passed: false, total: 0 });
  t.false(none.tests.all_passing, 'suites that did not run are not passing');
});

test('a suite over its timeout is stopped and failed; a missing runner or an unreachable lab is a failure that says so', async (t) => {
  // A port nothing listens on any more: the lab is down.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const downUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const options = await optionsFor(
    t,
    {
      tests: { unit: ['node', '-e', 'setTimeout(() => {}, 60000)'], integration: ['no-such-test-runner'] },
      acceptance: [{ name: 'home', path: '/' }],
    },
    NODE_REPO,
    downUrl,
  );
  t.teardown(() => rm(options.artifactsDir, { recursive: true, force: true }));
  const { tests } = await runTests({ ...options, timeoutMs: 1000 });
  t.deepEqual(tests.unit.failures, [{ name: 'unit', message: 'did not finish within 1 s; stopped' }]);
  t.deepEqual(tests.integration.failures, [{ name: 'integration', message: 'no-such-test-runner was not found' }]);
  t.regex(tests.acceptance.failures[0]!.message, /GET \/ could not be sent: .*ECONNREFUSED/);
});

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
