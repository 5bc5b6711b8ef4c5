import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { simpleGit } from 'simple-git';
import type { Gateway } from '../../src/composition.js';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import type { SessionView } from '../../src/sessions/session-view.js';
import type { Call } from './gateway-client.js';
import { eventually } from './eventually.js';

/** A small Node service: what a builder's branch holds when a person asks for a lab. */
export const NODE_APP: Readonly<Record<string, string | Buffer>> = {
  'package.json': JSON.stringify(
    { name: 'billing', version: '1.0.0', scripts: { start: 'node server.js', test: 'node --test' } },
    null,
    2,
  ),
  'server.js': "require('node:http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\n",
  'public/logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0xff, 0xfe]),
};

/**
 * What makes a repository's lab testable by the gateway: an integration test that asks the lab
 * for its health through LAB_URL, and a lab manifest with unit tests by Node's runner (writing
 * JUnit where the gateway says), that integration test, and two acceptance checks.
 */
export const LAB_TESTS: Readonly<Record<string, string>> = {
  'integration.mjs': "const r = await fetch(new URL('/health', process.env.LAB_URL)); process.exit(r.ok ? 0 : 1);\n",
  '.lab.yaml': [
    'port: 3000',
    'health_path: /health',
    'tests:',
    '  unit: [node, --test, --test-reporter=junit, "--test-reporter-destination={junit}", test/]',
    '  integration: [node, integration.mjs]',
    'acceptance:',
    '  - { name: home page, path: /, expect_body: Welcome }',
    '  - { name: health, path: /health }',
    '',
  ].join('\n'),
};

/** Commits files on the worktree's branch, as the agent (or a person) would before deploying. */
export const commitFiles = async (
  worktree: string,
  files: Readonly<Record<string, string | Buffer>>,
  message = 'lab files',
): Promise<void> => {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(worktree, path)), { recursive: true });
    await writeFile(join(worktree, path), content);
  }
  const git = simpleGit(worktree);
  await git.add('.');
  await git.raw(['-c', 'user.name=Agent', '-c', 'user.email=agent@example.com', 'commit', '-q', '-m', message]);
};

/**
 * A session whose workspace is ready and whose builder branch holds `files` in its first repo:
 * what POST /api/deployments needs.
 */
export const labSession = async (
  call: Call,
  gateway: Gateway,
  project: string,
  files: Readonly<Record<string, string | Buffer>> = NODE_APP,
  repo = 'api',
): Promise<SessionView> => {
  const created = (await (
    await call(gateway, 'POST', '/api/sessions', {
      category: 'lab',
      project,
      repos: [{ name: repo }],
      task: { title: 'Fix the typo in the footer', description: 'Small change.' },
    })
  ).json()) as SessionView;
  const ready = await eventually(async () => {
    const view = (await (await call(gateway, 'GET', `/api/sessions/${created.session_id}`)).json()) as SessionView;
    return view.workspace_path ? view : undefined;
  }, `the workspace of session ${created.session_id}`);
  await commitFiles(ready.repos[0]!.worktree_path!, files);
  return ready;
};

/** Plans and confirms a deployment of the session's branch; resolves with its view once it has ended. */
export const deployToEnd = async (call: Call, gateway: Gateway, sessionId: string): Promise<DeploymentView> => {
  const response = await call(gateway, 'POST', '/api/deployments', { session_id: sessionId });
  if (response.status !== 202) throw new Error(`the plan answered ${response.status}: ${await response.text()}`);
  const planned = (await response.json()) as DeploymentView;
  const confirmed = await call(gateway, 'POST', `/api/deployments/${planned.deployment_id}/confirm`, {
    confirmed_by: 'U42',
  });
  if (confirmed.status !== 202) throw new Error(`confirm answered ${confirmed.status}`);
  return eventually(async () => {
    const view = (await (
      await call(gateway, 'GET', `/api/deployments/${planned.deployment_id}`)
    ).json()) as DeploymentView;
    return view.status === 'succeeded' || view.status === 'failed' ? view : undefined;
  }, `deployment ${planned.deployment_id} to end`);
};
