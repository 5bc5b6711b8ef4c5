import { XMLParser } from 'fast-xml-parser';

export interface JUnitCounts {
  readonly total: number;
  readonly failed: number;
  readonly skipped: number;
  readonly failures: readonly { readonly name: string; readonly message: string }[];
}

type Node = Record<string, unknown>;

// Attributes apart from elements: Node's reporter writes both a `failure` attribute and a <failure> element.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  isArray: (name) => name === 'testsuite' || name === 'testcase',
  textNodeName: '#text',
});

const asNodes = (value: unknown): Node[] =>
  Array.isArray(value) ? (value as Node[]) : value && typeof value === 'object' ? [value as Node] : [];

const messageOf = (value: unknown): string => {
  const [node] = asNodes(value);
  if (!node) return typeof value === 'string' ? (value.trim().split('\n')[0] ?? '') : '';
  const message = node['@_message'] ?? node['#text'] ?? '';
  return (typeof message === 'string' || typeof message === 'number' ? String(message) : '')
    .trim()
    .split('\n')
    .slice(0, 3)
    .join('\n');
};

/**
 * Counts a JUnit XML report's test cases — as pytest, Node's test runner, Jest and Maven write it,
 * suites nested or not — from the cases themselves, not the attributes some runners leave out.
 * Undefined when the text is not a JUnit report.
 */
export const parseJUnit = (xml: string): JUnitCounts | undefined => {
  let document: Node;
  try {
    document = parser.parse(xml) as Node;
  } catch {
    return undefined;
  }
  // <testsuites> may hold cases itself (Node's reporter) as well as suites.
  const roots = [...asNodes(document['testsuites']), ...asNodes(document['testsuite'])];
  if (roots.length === 0) return undefined;
  const counts = { total: 0, failed: 0, skipped: 0, failures: [] as { name: string; message: string }[] };
  const visit = (suite: Node): void => {
    for (const testcase of asNodes(suite['testcase'])) {
      counts.total++;
      const name =
        [testcase['@_classname'], testcase['@_name']]
          .filter((part) => typeof part === 'string' && part !== '')
          .join(' › ') || 'unnamed test';
      const failure = testcase['failure'] ?? testcase['error'];
      if (failure !== undefined) {
        counts.failed++;
        counts.failures.push({ name, message: messageOf(failure) || 'failed' });
      } else if (testcase['skipped'] !== undefined) counts.skipped++;
    }
    for (const child of asNodes(suite['testsuite'])) visit(child);
  };
  for (const root of roots) visit(root);
  return counts;
};
