import test from 'ava';
import { join } from 'node:path';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import type { SessionView } from '../../src/sessions/session-view.js';
import { openEmbeddedEventStore } from '../../src/eventstore/embedded/index.js';
import { eventually } from '../support/eventually.js';
import { caller } from '../support/gateway-client.js';
import type { GatewayProcess } from '../support/gateway-process.js';
import { gatewayRig } from '../support/gateway-rig.js';
import { commitFiles, NODE_APP } from '../support/lab-session.js';

const TOKEN = 'operator-token-crash-in-flight-01';
const api = caller(TOKEN);
const TEAMS = 20;
const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

/**
 * Many teams at once, and the gateway (the real `npm start` entry point) SIGKILLed twice while
 * twenty deployments and thirty sessions are in flight: after the restarts every one completes,
 * every reaction's outcome is in the log exactly once, and no object was created twice.
 */
test(`SIGKILLed twice with ${TEAMS} deployments and ${TEAMS + 10} sessions in flight: everything completes, each outcome once`, async (t) => {
  t.timeout(600_000);
  // The shipped configuration without agents (this test is about process managers), and no rate limit in the way.
  const { dir, fake, start } = await gatewayRig(t, {
    token: TOKEN,
    kube: { podDelayMs: 1500 },
    configure: (yaml) => yaml.replace(/rate_limit_per_minute: 600 /, 'rate_limit_per_minute: 1000000 '),
  });
  let gateway: GatewayProcess = await start();
  const open = (project: string) =>
    api(gateway, 'POST', '/api/sessions', {
      category: 'team',
      project,
      repos: [{ name: 'api' }],
      task: { title: 'Fix the typo in the footer', description: 'Small change.' },
    }).then((response) => json<SessionView>(response));
  const sessions = await Promise.all(Array.from({ length: TEAMS }, (_, i) => open(`p${i}`)));
  const ready = await Promise.all(
    sessions.map((session) =>
      eventually(
        async () => {
          const view = await json<SessionView>(await api(gateway, 'GET', `/api/sessions/${session.session_id}`));
          return view.workspace_path ? view : undefined;
        },
        `the workspace of ${session.project}`,
        120_000,
      ),
    ),
  );
  for (const view of ready) await commitFiles(view.repos[0]!.worktree_path!, NODE_APP);
  const planned = await Promise.all(
    ready.map((view) =>
      api(gateway, 'POST', '/api/deployments', { session_id: view.session_id }).then((response) =>
        json<DeploymentView>(response),
      ),
    ),
  );
  for (const plan of planned)
    t.is((await api(gateway, 'POST', `/api/deployments/${plan.deployment_id}/confirm`, {})).status, 202);
  // Ten more sessions asked for just before the first kill: their workspaces are in flight too.
  const late = await Promise.all(Array.from({ length: 10 }, (_, i) => open(`late${i}`)));

  for (const pause of [300, 900]) {
    await new Promise((resolve) => setTimeout(resolve, pause));
    const { items } = await json<{ items: DeploymentView[] }>(await api(gateway, 'GET', '/api/deployments?limit=500'));
    const inFlight = items.filter(
      (view) => view.status === 'confirmed' || view.status === 'deploying' || view.status === 'testing',
    ).length;
    const waiting = (
      await Promise.all(
        late.map((session) =>
          api(gateway, 'GET', `/api/sessions/${session.session_id}`).then((response) => json<SessionView>(response)),
        ),
      )
    ).filter((view) => view.status === 'initializing').length;
    t.log(`killed with ${inFlight} deployments and ${waiting} workspaces in flight`);
    t.true(inFlight > 0, 'deployments were in flight when killed');
    await gateway.kill();
    gateway = await start();
  }

  const ended = await Promise.all(
    planned.map((plan) =>
      eventually(
        async () => {
          const view = await json<DeploymentView>(await api(gateway, 'GET', `/api/deployments/${plan.deployment_id}`));
          return view.status === 'succeeded' || view.status === 'failed' ? view : undefined;
        },
        `deployment ${plan.deployment_id} to end`,
        300_000,
      ),
    ),
  );
  t.deepEqual(
    ended.filter((view) => view.status !== 'succeeded').map((view) => view.error),
    [],
    'every deployment succeeded',
  );
  for (const session of late) {
    await eventually(
      async () =>
        (await json<SessionView>(await api(gateway, 'GET', `/api/sessions/${session.session_id}`))).workspace_path
          ? true
          : undefined,
      `the workspace of ${session.project}`,
      120_000,
    );
  }
  t.deepEqual(
    [...fake.creations.entries()].filter(([, count]) => count !== 1),
    [],
    'no object created twice',
  );

  await gateway.kill();
  const store = await openEmbeddedEventStore({ dataDir: join(dir, 'events') });
  const all = await store.readAll();
  await store.close();
  t.is(new Set(all.map((event) => event.id)).size, all.length, 'no event twice');
  const count = (stream: string, type: string) =>
    all.filter((event) => event.stream === stream && event.type === type).length;
  for (const plan of planned) {
    const stream = `deployment-${plan.deployment_id}`;
    t.is(count(stream, 'DeploymentStepStarted'), 8, `${stream}: each step started once`);
    t.is(count(stream, 'DeploymentStepCompleted'), 7, `${stream}: each step but pods_ready completed once`);
    t.is(count(stream, 'PodsReady'), 1, `${stream}: pods ready once`);
    t.is(count(stream, 'TestsFinished'), 1, `${stream}: tests recorded once`);
    t.is(count(stream, 'DeploymentSucceeded'), 1, `${stream}: succeeded once`);
  }
  for (const session of [...sessions, ...late])
    t.is(
      count(`session-${session.session_id}`, 'WorkspaceInitialized'),
      1,
      `session ${session.project}: its workspace recorded once`,
    );
  const proofs = all
    .filter((event) => event.type === 'ReactionCompleted' || event.type === 'ReactionFailed')
    .map((event) => `${event.data['process_manager']} ${event.data['key']}`);
  t.is(new Set(proofs).size, proofs.length, 'no reaction recorded twice');
  t.deepEqual(
    all.filter((event) => event.type === 'ReactionFailed').map((event) => event.data['error']),
    [],
    'no reaction failed',
  );
});
