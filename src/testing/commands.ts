import type { LabManifest } from '../labs/lab-manifest.js';
import type { RuntimeKind } from '../labs/runtime-kind.js';

/**
 * In a declared command, `{junit}` becomes the path where the runner should write its JUnit
 * report (for example `--junitxml={junit}`) and `{lab_url}` the lab's URL, both filled in the
 * test Job (labs/test-job.ts): commands are argument arrays, never a shell, so there is no `$VAR`
 * expansion.
 */
const JUNIT_PLACEHOLDER = '{junit}';

const PYTEST_FILE = /(^|\/)(test_[^/]*|[^/]*_test)\.py$/;

/**
 * The unit test command: the lab manifest's, else the runtime's usual one when the repository
 * has tests for it (Node: `npm test` when package.json has a test script; Python: pytest when
 * there are test files). Undefined: the repository has no unit tests the gateway can run.
 */
export const unitCommand = (
  kind: RuntimeKind,
  manifest: LabManifest,
  files: ReadonlyMap<string, string>,
): readonly string[] | undefined => {
  if (manifest.tests?.unit) return manifest.tests.unit;
  switch (kind) {
    case 'node': {
      const text = files.get('package.json');
      try {
        const scripts = (text ? (JSON.parse(text) as { scripts?: Record<string, unknown> }).scripts : undefined) ?? {};
        return typeof scripts['test'] === 'string' ? ['npm', 'test'] : undefined;
      } catch {
        return undefined;
      }
    }
    case 'uv':
      return [...files.keys()].some((path) => PYTEST_FILE.test(path))
        ? ['uv', 'run', 'pytest', `--junitxml=${JUNIT_PLACEHOLDER}`]
        : undefined;
    case 'camel-jbang':
      return undefined;
    default: {
      const unexpected: never = kind;
      return unexpected;
    }
  }
};

/** Integration tests are the repository's own to declare: they need to know what the lab is. */
export const integrationCommand = (manifest: LabManifest): readonly string[] | undefined => manifest.tests?.integration;
