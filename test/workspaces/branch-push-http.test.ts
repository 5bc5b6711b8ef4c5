import test, { type ExecutionContext } from 'ava';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { simpleGit } from 'simple-git';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import type { SessionView } from '../../src/sessions/session-view.js';
import { eventually } from '../support/eventually.js';
import { startFakeKube } from '../support/fake-kube.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { commitFiles, NODE_APP } from '../support/lab-session.js';
import { startMockSlack } from '../support/mock-slack.js';
import { scriptedProviderConfig, startScriptedModel } from '../support/scripted-model.js';
import { makeRepo, startTestGateway, type TestGateway, type TestGatewayOptions } from '../support/test-gateway.js';

/**
 * The work leaves the machine (issue 18, point 5): with `workspace.push` on, a session's builder
 * branch of a repo given by URL is pushed to that URL after each agent turn that changed the
 * worktree and when a deployment is asked for; a remote that refuses is told to Slack and shown on
 * the session, which goes on. The remote is a real bare repository under the repos root.
 */
const OPERATOR = 'operator-token-0123456789';
const SECRET = 'webhook-secret-for-tests';
const call = caller(OPERATOR);
const BRANCH = 'builder/platform-billing';
const COMPARE = 'https://git.example.com/acme/{repo}/compare/{branch}';
const IDENTITY = ['-c', 'user.name=Someone', '-c', 'user.email=someone@example.com'];

type Repo = SessionView['repos'][number];

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

/** A bare repository holding `files` on main, under the repos root (local remotes are allowed only there); its file:// URL. */
const bareRemote = async (gateway: TestGateway, files: Readonly<Record<string, string | Buffer>> = {}) => {
  const work = await makeRepo(gateway.reposRoot, 'upstream/api');
  if (Object.keys(files).length > 0) await commitFiles(work, files);
  const path = join(gateway.reposRoot, 'remotes', 'api.git');
  await simpleGit().raw(['clone', '-q', '--bare', work, path]);
  return { path, url: `file://${path}` };
};

/** The commit the remote's builder branch is at; '' when it has none. */
const remoteTip = async (bare: string): Promise<string> =>
  (await simpleGit().raw(['--git-dir', bare, 'for-each-ref', '--format=%(objectname)', `refs/heads/${BRANCH}`])).trim();

const gatewayWith = async (t: ExecutionContext, options: Partial<TestGatewayOptions> = {}) => {
  const slack = await startMockSlack(t, SECRET);
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR}`,
    webhooks: { slack_url: slack.url, retry_attempts: 1, retry_delay: 10 },
    webhookSecret: SECRET,
    ...options,
    workspace: { push: true, compare_url: COMPARE, ...options.workspace },
  });
  return { slack, gateway };
};

/** A confident builder task on the remote, so the route is confirmed at once (and the agent starts, when there is one). */
const openSession = async (gateway: TestGateway, url: string, description: string): Promise<SessionView> => {
  const response = await call(gateway, 'POST', '/api/sessions', {
    category: 'platform',
    project: 'billing',
    repos: [{ name: 'api', url }],
    task: { title: 'Fix typo in the footer', description },
  });
  if (response.status !== 202) throw new Error(`POST /api/sessions: ${response.status} ${await response.text()}`);
  return waitForSessionStatus<SessionView>(call, gateway, (await json<SessionView>(response)).session_id, 'active');
};

const repoWhen = (gateway: TestGateway, sessionId: string, what: string, ok: (repo: Repo) => boolean) =>
  eventually(async () => {
    const view = await json<SessionView>(await call(gateway, 'GET', `/api/sessions/${sessionId}`));
    return ok(view.repos[0]!) ? view : undefined;
  }, what);

test.serial(
  'an agent turn that writes a file is pushed to the remote’s builder branch with the compare link; a remote that refuses (someone moved the branch) is a progress webhook and push_error, and the session goes on',
  async (t) => {
    const model = await startScriptedModel();
    t.teardown(() => model.close());
    const { slack, gateway } = await gatewayWith(t, { opencode: scriptedProviderConfig(model.baseUrl) });
    const remote = await bareRemote(gateway);
    const session = await openSession(gateway, remote.url, 'The footer says Copyrigth. [write repos/api/hello.txt]');

    const pushed = (await repoWhen(gateway, session.session_id, 'the turn pushed', (repo) => repo.pushed !== null))
      .repos[0]!;
    t.like(pushed.pushed, {
      remote: remote.url,
      branch: BRANCH,
      compare_url: 'https://git.example.com/acme/api/compare/builder/platform-billing',
    });
    t.is(pushed.push_error, null);
    t.is(await remoteTip(remote.path), pushed.pushed!.commit, 'the remote’s branch is at the pushed commit');
    t.is(
      await simpleGit().raw(['--git-dir', remote.path, 'show', `${pushed.pushed!.commit}:hello.txt`]),
      'written by scripted model\n',
      'and holds the file the agent wrote',
    );

    // Someone else moves the remote's builder branch: the gateway's next push is not a fast-forward and is refused, never forced.
    const other = (
      await simpleGit().raw([
        '--git-dir',
        remote.path,
        ...IDENTITY,
        'commit-tree',
        '-p',
        pushed.pushed!.commit,
        '-m',
        'not the gateway’s',
        `${pushed.pushed!.commit}^{tree}`,
      ])
    ).trim();
    await simpleGit().raw(['--git-dir', remote.path, 'update-ref', `refs/heads/${BRANCH}`, other]);
    const sent = await call(gateway, 'POST', `/api/sessions/${session.session_id}/messages`, {
      text: 'Also add a second file [write repos/api/second.txt]',
    });
    t.is(sent.status, 202);
    const refused = (
      await repoWhen(gateway, session.session_id, 'the refused push', (repo) => repo.push_error !== null)
    ).repos[0]!;
    t.regex(refused.push_error!, /rejected/);
    t.is(refused.pushed!.commit, pushed.pushed!.commit, 'pushed still says what the remote last took');
    t.is(await remoteTip(remote.path), other, 'the other commit is not overwritten');

    const failedPush = (delivery: (typeof slack.deliveries)[number]) =>
      delivery.eventType === 'progress' && /failed/.test(String(delivery.body.data['summary']));
    await slack.waitFor((got) => got.some(failedPush), 60_000);
    const summary = String(slack.deliveries.find(failedPush)!.body.data['summary']);
    t.regex(summary, /^Pushing builder\/platform-billing of repo api to file:\/\/.*api\.git failed: .*rejected/);
    const view = await json<SessionView>(await call(gateway, 'GET', `/api/sessions/${session.session_id}`));
    t.is(view.status, 'active', 'the session goes on');
  },
);

test('a deployment pushes its snapshot commit before anyone confirms it, and deployment_ready names the pushed branch', async (t) => {
  const fake = await startFakeKube({});
  t.teardown(() => fake.close());
  const { slack, gateway } = await gatewayWith(t, { kubeconfig: fake.kubeconfig });
  const remote = await bareRemote(gateway, NODE_APP);
  const session = await openSession(gateway, remote.url, 'Small change.');
  // What the agent wrote and did not commit: the deployment's snapshot commits it, and that commit is pushed.
  await writeFile(join(session.repos[0]!.worktree_path!, 'CHANGELOG.md'), 'Footer fixed.\n');
  const response = await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id });
  t.is(response.status, 202);
  const planned = await json<DeploymentView>(response);
  const snapshot = (await simpleGit(session.repos[0]!.worktree_path!).revparse(['HEAD'])).trim();
  await eventually(async () => ((await remoteTip(remote.path)) === snapshot ? true : undefined), 'the snapshot pushed');
  t.is(await simpleGit().raw(['--git-dir', remote.path, 'show', `${snapshot}:CHANGELOG.md`]), 'Footer fixed.\n');
  const view = await repoWhen(gateway, session.session_id, 'the push recorded', (repo) => repo.pushed !== null);
  t.is(view.repos[0]!.pushed!.commit, snapshot);
  const status = async () =>
    (await json<DeploymentView>(await call(gateway, 'GET', `/api/deployments/${planned.deployment_id}`))).status;
  t.is(await status(), 'awaiting_confirmation', 'pushed before anyone confirmed it');

  t.is((await call(gateway, 'POST', `/api/deployments/${planned.deployment_id}/confirm`, {})).status, 202);
  await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'deployment_ready'), 60_000);
  t.deepEqual(slack.deliveries.find((delivery) => delivery.eventType === 'deployment_ready')!.body.data['repos'], [
    {
      name: 'api',
      remote: remote.url,
      branch: BRANCH,
      compare_url: 'https://git.example.com/acme/api/compare/builder/platform-billing',
    },
  ]);
});

test('a remote that is not a repository any more: push_error and a progress webhook saying so; the deployment goes on', async (t) => {
  const { slack, gateway } = await gatewayWith(t, { workspace: { compare_url: '' } });
  const remote = await bareRemote(gateway, NODE_APP);
  const session = await openSession(gateway, remote.url, 'Small change.');
  await rm(remote.path, { recursive: true, force: true });
  const response = await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id });
  t.is(response.status, 202);
  const view = await repoWhen(gateway, session.session_id, 'the failed push', (repo) => repo.push_error !== null);
  t.regex(view.repos[0]!.push_error!, /does not exist/);
  t.is(view.repos[0]!.pushed, null);
  await slack.waitFor((got) => got.some((delivery) => delivery.eventType === 'progress'));
  t.true(
    slack.deliveries.some(
      (delivery) =>
        delivery.eventType === 'progress' &&
        /^Pushing builder\/platform-billing of repo api to .* failed: .*does not exist/.test(
          String(delivery.body.data['summary']),
        ),
    ),
  );
  const deployment = await json<DeploymentView>(response);
  t.is(
    (await json<DeploymentView>(await call(gateway, 'GET', `/api/deployments/${deployment.deployment_id}`))).status,
    'awaiting_confirmation',
  );
});

test('with push off nothing is pushed: no branch on the remote, pushed and push_error stay null', async (t) => {
  const { gateway } = await gatewayWith(t, { workspace: { push: false } });
  const remote = await bareRemote(gateway, NODE_APP);
  const session = await openSession(gateway, remote.url, 'Small change.');
  await writeFile(join(session.repos[0]!.worktree_path!, 'CHANGELOG.md'), 'Footer fixed.\n');
  t.is((await call(gateway, 'POST', `/api/deployments`, { session_id: session.session_id })).status, 202);
  await eventually(async () => {
    const view = await json<SessionView>(await call(gateway, 'GET', `/api/sessions/${session.session_id}`));
    return view.deployments.length === 1 ? view : undefined;
  }, 'the deployment on the session');
  // Nothing to wait for when nothing happens: the time a push takes here, and more.
  await sleep(1500);
  t.is(await remoteTip(remote.path), '');
  const view = await json<SessionView>(await call(gateway, 'GET', `/api/sessions/${session.session_id}`));
  t.like(view.repos[0], { pushed: null, push_error: null });
});
