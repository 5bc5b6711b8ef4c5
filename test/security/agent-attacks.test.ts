import test from 'ava';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sessionStream } from '../../src/sessions/events.js';
import type { SessionView } from '../../src/sessions/session-view.js';
import { eventually } from '../support/eventually.js';
import { startFakeKube } from '../support/fake-kube.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { deployToEnd, NODE_APP } from '../support/lab-session.js';
import { operatorGit } from '../support/operator-git.js';
import { scriptedProviderConfig, startScriptedModel } from '../support/scripted-model.js';
import { startTestGateway } from '../support/test-gateway.js';

/**
 * Issue 16, point 5: the agent attacks. The real OpenCode, run by the gateway as `npm start` runs
 * it, and a scripted model whose turn runs one shell script with the `bash` tool, under the most
 * permissive policy (the model may do anything OpenCode lets it): it tries to read the data
 * folder, the event log, the cluster's credentials and the gateway's environment; plants an
 * fsmonitor and a post-commit hook in the clone and a hooks path in the worktree's
 * configuration; replaces the worktree's `.git` with a repository of its own; plants a symbolic
 * link at each file the gateway writes into the workspace; and writes its work. Then a person
 * deploys. Each planted program would leave a marker saying who ran it.
 *
 * The gateway must run as root for the agent to have a user of its own (as in CI); elsewhere the
 * agent shares the gateway's user and this test cannot hold (the README's threat model says so).
 */
const OPERATOR = 'operator-token-0123456789';
const call = caller(OPERATOR);
const asRoot = process.getuid?.() === 0;
const SECRET_MARKER = 'gateway-secret-the-agent-must-never-see';

const shellQuote = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

/** The agent's one turn: each attempt reported as done or refused, then the work, then the links. */
const attackScript = (targets: {
  dataDir: string;
  eventsDir: string;
  clone: string;
  gatewayPid: number;
  markers: string;
  outside: string;
}): string => {
  const planted = `#!/bin/sh\nid -u > ${targets.markers}/"$(basename "$0")-$$"\n`;
  const work = Object.entries(NODE_APP)
    .map(([path, content]) => {
      const bytes = Buffer.from(content).toString('base64');
      return `mkdir -p "$(dirname ${path})" && echo ${bytes} | base64 -d > ${path}`;
    })
    .join('\n');
  return `
set -u
report="$PWD/attack-report.txt"
try() { if sh -c "$2" >/dev/null 2>&1; then echo "$1: done" >> "$report"; else echo "$1: refused" >> "$report"; fi; }
id -u > agent-uid.txt
env > agent-env.txt
cd repos/api
printf '%s' ${shellQuote(planted)} > planted.sh && chmod 755 planted.sh
try list-data-folder "ls ${targets.dataDir}"
try read-event-log "cat ${targets.eventsDir}/*"
try read-kubeconfig "cat ${targets.dataDir}/kubeconfig.yaml"
try read-idempotency-records "cat ${targets.dataDir}/idempotency.sqlite"
try read-gateway-environment "cat /proc/${targets.gatewayPid}/environ"
try reach-clone-from-worktree "git rev-parse --git-common-dir"
try plant-clone-fsmonitor "git config --file ${targets.clone}/.git/config core.fsmonitor $PWD/planted.sh"
try plant-clone-hook "cp planted.sh ${targets.clone}/.git/hooks/post-commit"
try plant-worktree-hooks-path "printf '[core]\\\\n\\\\thooksPath = $PWD\\\\n' >> ${targets.clone}/.git/worktrees/api/config.worktree"
${work}
rm -f .git
try replace-dot-git "git init -q -b builder/lab-billing . && git add -A && git -c user.name=a -c user.email=a@x commit -qm mine && git config core.fsmonitor $PWD/planted.sh && cp planted.sh .git/hooks/post-commit && cp planted.sh .git/hooks/pre-commit"
cd ../..
ln -sf ${targets.outside} .session-state.yaml
rm -f arch-decisions.md && ln -sf ${targets.outside} arch-decisions.md
mkdir -p .lab && for step in kustomization namespace app; do ln -sf ${targets.outside} .lab/$step.yaml; done
echo finished >> "$report"
`;
};

(asRoot ? test : test.skip)(
  'an agent that runs shell commands reads none of the gateway’s state, plants nothing that runs as the gateway, writes through no link, and its work still ships (needs root)',
  async (t) => {
    process.env['GATEWAY_WEBHOOK_SECRET'] = SECRET_MARKER; // in the gateway's own environment
    t.teardown(() => delete process.env['GATEWAY_WEBHOOK_SECRET']);
    const model = await startScriptedModel();
    t.teardown(() => model.close());
    const fake = await startFakeKube();
    t.teardown(() => fake.close());
    const gateway = await startTestGateway(t, {
      tokens: `slack:operator:${OPERATOR}`,
      repos: ['api'],
      kubeconfig: fake.kubeconfig,
      opencode: scriptedProviderConfig(model.baseUrl),
      permissionPolicy: 'allow',
    });
    const scratch = mkdtempSync(join(tmpdir(), 'agent-attacks-'));
    t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
    chmodSync(scratch, 0o755);
    const markers = join(scratch, 'markers');
    const outside = join(scratch, 'outside.txt');
    writeFileSync(outside, 'the gateway never writes here\n');
    // Anyone may leave a marker here: a planted program that runs, as whoever, says so.
    mkdirSync(markers);
    chmodSync(markers, 0o1777);
    const script = attackScript({
      dataDir: gateway.config.data_dir,
      eventsDir: (gateway.config.event_store as { data_dir: string }).data_dir,
      clone: join(gateway.reposRoot, 'api'),
      gatewayPid: process.pid,
      markers,
      outside,
    });

    const created = (await (
      await call(gateway, 'POST', '/api/sessions', {
        category: 'lab',
        project: 'billing',
        repos: [{ name: 'api' }],
        task: {
          title: 'Fix the typo in the footer',
          description: `Small change. [bash ${Buffer.from(script).toString('base64url')}]`,
        },
      })
    ).json()) as SessionView;
    const session = await waitForSessionStatus<SessionView>(call, gateway, created.session_id, 'active');
    const workspace = session.workspace_path!;
    await eventually(async () => {
      const events = await gateway.eventLog.readStream(sessionStream(session.session_id));
      return events.some((stored) => stored.event.type === 'AgentReplied') ? true : undefined;
    }, 'the agent’s turn to end');
    const report = readFileSync(join(workspace, 'attack-report.txt'), 'utf8');
    t.log(report);
    t.regex(report, /finished/, 'the whole script ran');

    // The agent ran as a user of its own, without the gateway's environment.
    t.is(readFileSync(join(workspace, 'agent-uid.txt'), 'utf8').trim(), '65534');
    const agentEnvironment = readFileSync(join(workspace, 'agent-env.txt'), 'utf8');
    t.false(agentEnvironment.includes(SECRET_MARKER), 'the gateway’s secret is not in the agent’s environment');
    t.false(/^GATEWAY_/m.test(agentEnvironment), 'no GATEWAY_ variable reaches the agent');
    // Everything the gateway keeps, and the clone, were out of its reach.
    for (const attempt of [
      'list-data-folder',
      'read-event-log',
      'read-kubeconfig',
      'read-idempotency-records',
      'read-gateway-environment',
      'reach-clone-from-worktree',
      'plant-clone-fsmonitor',
      'plant-clone-hook',
      'plant-worktree-hooks-path',
    ])
      t.true(report.includes(`${attempt}: refused`), `${attempt} was not refused`);
    // What it can do in its own worktree, it did: a repository of its own in place of .git.
    t.true(report.includes('replace-dot-git: done'));

    // A person deploys: the gateway snapshots the worktree and applies the lab.
    const ended = await deployToEnd(call, gateway, session.session_id);
    t.is(ended.status, 'succeeded', ended.error ?? '');

    // Nothing the agent planted ran, as the gateway or at all.
    t.deepEqual(readdirSync(markers), [], 'a planted program ran');
    // The work shipped: the gateway committed the worktree through the git directory it made.
    const initialized = (await gateway.eventLog.readStream(sessionStream(session.session_id))).find(
      (stored) => stored.event.type === 'WorkspaceInitialized',
    )!.event.data as { repos: { git_dir: string; branch: string }[] };
    const { git_dir: gitDir, branch } = initialized.repos[0]!;
    const shipped = await operatorGit(workspace).raw(['--git-dir', gitDir, 'show', `${branch}:server.js`]);
    t.is(shipped, String(NODE_APP['server.js']));
    t.regex(await operatorGit(workspace).raw(['--git-dir', gitDir, 'log', '-1', '--format=%s', branch]), /^Snapshot/);
    // Links where the gateway writes were replaced, never followed.
    t.is(readFileSync(outside, 'utf8'), 'the gateway never writes here\n');
    await eventually(
      async () => (lstatSync(join(workspace, '.session-state.yaml')).isSymbolicLink() ? undefined : true),
      'the state file rewritten in place of the link',
    );
    t.false(lstatSync(join(workspace, '.lab', 'kustomization.yaml')).isSymbolicLink());
    t.true(existsSync(join(workspace, '.lab', 'kustomization.yaml')));
  },
);
