import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import type { SessionView } from '../../src/sessions/session-view.js';
import { runCli } from '../../src/audit/cli.js';
import { eventually } from '../support/eventually.js';
import { caller } from '../support/gateway-client.js';
import { pressSlackButton } from '../support/slack-button.js';
import type { Delivery } from '../support/mock-slack.js';
import { connectSse, type Frame } from '../support/sse-client.js';
import { AUDITOR_TOKEN, OPERATOR_TOKEN, SLACK_SIGNING_SECRET, type World } from './world.js';

/** One Slack thread: every call of the workflow carries it as its correlation id, so the audit can tell its whole story. */
export const THREAD = 'slack-thread-1732700000-000100';

export type Narrate = (step: string, detail?: string) => void;

export interface WorkflowResult {
  readonly sessionId: string;
  readonly deploymentId: string;
  readonly route: SessionView['route'];
  readonly worktree: string;
  readonly agentFile: string;
  readonly answerReply: string;
  readonly deployment: DeploymentView;
  /** What the lab's app answered at its root. */
  readonly labAnswer: string;
  readonly progress: readonly Frame[];
  readonly webhookTypes: readonly string[];
  readonly namespaceDeletion: { readonly name: string; readonly deletion_scheduled_for: string };
  readonly verification: { readonly ok: boolean; readonly events_checked: number; readonly first_bad: unknown };
  /** `npx gateway replay <correlation id>`'s lines. */
  readonly timeline: readonly string[];
}

/** `npx gateway replay <correlation id> --url … --token …`, run in this process: the timeline's lines. */
const replay = async (world: World, correlationId: string): Promise<string[]> => {
  let out = '';
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => ((out += chunk.toString()), done()) });
  const code = await runCli(['replay', correlationId, '--url', world.gateway.url, '--token', AUDITOR_TOKEN], {
    stdout: sink,
    stderr: sink,
    env: {},
    cwd: world.dir,
  });
  if (code !== 0) throw new Error(`replay exited ${code}: ${out}`);
  return out.split('\n').filter((line) => line.trim() !== '');
};

const call = caller(OPERATOR_TOKEN);

/** An API call from the Slack backend for this thread; anything but a 2xx stops the workflow, saying why. */
const api = async <T>(
  world: World,
  method: string,
  path: string,
  body?: unknown,
  token = OPERATOR_TOKEN,
): Promise<T> => {
  const response = await call(world.gateway, method, path, body, { 'x-correlation-id': THREAD }, token);
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
};

/** A button pressed in Slack by ann, in the same thread. */
const pressButton = async <T>(world: World, value: string): Promise<T> => {
  const response = await pressSlackButton(world.gateway.url, value, {
    secret: SLACK_SIGNING_SECRET,
    user: { id: 'U0ANN', username: 'ann' },
    headers: { 'x-correlation-id': THREAD },
  });
  if (response.status !== 202)
    throw new Error(`the Slack button ${value} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
};

const webhook = async (world: World, type: string, count = 1): Promise<Delivery> => {
  await world.slack.waitFor((got) => got.filter((delivery) => delivery.eventType === type).length >= count, 60_000);
  return world.slack.deliveries.filter((delivery) => delivery.eventType === type)[count - 1]!;
};

const sessionView = (world: World, id: string) => api<SessionView>(world, 'GET', `/api/sessions/${id}`);

/**
 * The whole workflow, as a person in Slack lives it: ask for work, confirm the route, see the
 * agent work and answer its question, deploy to a lab, read the test results, schedule the lab's
 * deletion. Each step is narrated; the result is what the integration test checks.
 */
export const runWorkflow = async (world: World, narrate: Narrate): Promise<WorkflowResult> => {
  narrate('1. A person asks in Slack', 'POST /api/sessions for project billing, repo billing-api, from a Slack thread');
  const created = await api<SessionView>(world, 'POST', '/api/sessions', {
    category: 'lab',
    project: 'billing',
    repos: [{ name: 'billing-api' }],
    task: {
      title: 'Improve things',
      description: 'Please have a look at the footer. [write repos/billing-api/CHANGELOG.md]',
    },
    requested_by: { user: 'U0ANN', channel: 'C0BILLING', thread_ts: '1732700000.000100' },
  });
  const sessionId = created.session_id;
  const suggestion = await webhook(world, 'routing_suggestion');
  narrate(
    '2. The gateway suggests a BMAD route',
    `${String(suggestion.body.data['suggested'])} at confidence ${Number(suggestion.body.data['confidence']).toFixed(2)}: ${String(suggestion.body.data['reason'])}`,
  );

  const routed = await pressButton<SessionView>(world, `confirm_route:${sessionId}:builder`);
  narrate(
    '3. The person confirms a route in Slack',
    `a signed Slack interaction confirm_route → ${routed.route.confirmed} by ${routed.route.confirmed_by}`,
  );

  const ready = await eventually(async () => {
    const view = await sessionView(world, sessionId);
    return view.workspace_path && view.status === 'active' ? view : undefined;
  }, 'the workspace');
  const worktree = ready.repos[0]!.worktree_path!;
  narrate('4. The workspace is ready', `git worktree ${worktree} on branch ${ready.repos[0]!.branch}`);

  const agentFile = join(worktree, 'CHANGELOG.md');
  const firstReply = await webhook(world, 'agent_reply');
  narrate(
    '5. The agent (OpenCode, builder persona) writes code',
    `${String(firstReply.body.data['text'])} — ${existsSync(agentFile) ? 'the file is in the worktree' : 'the file is missing'}`,
  );

  await api(world, 'POST', `/api/sessions/${sessionId}/messages`, {
    text: 'Which year should the footer show? [ask]',
    from: 'U0ANN',
  });
  const question = await webhook(world, 'question');
  const questionId = String(question.body.data['question_id']);
  narrate(
    '6. The agent asks a question',
    `${String(question.body.data['text'])} (options: ${(question.body.data['options'] as string[]).join(', ')})`,
  );
  await pressButton(world, `answer:${sessionId}:${questionId}:2026`);
  const answerReply = String((await webhook(world, 'agent_reply', 2)).body.data['text']);
  narrate('7. The person answers in Slack; the agent goes on', answerReply);

  const planned = await api<DeploymentView>(world, 'POST', '/api/deployments', { session_id: sessionId });
  const asked = await webhook(world, 'deployment_confirmation_requested');
  const plan = asked.body.data['plan'] as DeploymentView['plan'];
  narrate(
    '8. A deployment is planned',
    `namespace ${plan.namespace}, ${plan.configmaps.length} ConfigMap(s), runtime ${plan.runtime.kind}, ${plan.url}; Slack is asked to confirm`,
  );

  const progressStream = await connectSse(
    `${world.gateway.url}/api/deployments/${planned.deployment_id}/progress`,
    OPERATOR_TOKEN,
  );
  await pressButton(world, `confirm_deployment:${planned.deployment_id}`);
  narrate('9. The person confirms the deployment in Slack', 'a signed Slack interaction confirm_deployment');
  await progressStream.ended;
  const progress = progressStream.frames.filter((frame) => frame.event !== undefined);
  for (const frame of progress) {
    const data = JSON.parse(frame.data!) as Record<string, unknown>;
    if (frame.event === 'step_complete')
      narrate(`   step ${String(data['step'])}`, `${String(data['status'])}: ${String(data['detail'])}`);
  }
  const deployment = await api<DeploymentView>(world, 'GET', `/api/deployments/${planned.deployment_id}`);
  const labReady = await webhook(world, 'deployment_ready');
  const shipped = world.kube
    .objects('ConfigMap', plan.namespace)
    .some((configMap) =>
      Object.values((configMap['data'] ?? {}) as Record<string, string>).includes('written by scripted model\n'),
    );
  const labAnswer = await world.labAnswer(plan.namespace);
  narrate(
    '10. The lab is deployed',
    `${String(labReady.body.data['url'])}; the agent's CHANGELOG.md ${shipped ? 'is' : 'is NOT'} among the files shipped in ConfigMaps; ` +
      (world.labs.real
        ? `its pod runs on the local kubelet and answers: ${labAnswer}`
        : `its pods are simulated here (${world.labs.why}); the stand-in answers: ${labAnswer}`),
  );
  const results = await webhook(world, 'test_results');
  narrate(
    '11. Tests ran against the lab',
    `all passing: ${String(results.body.data['all_passing'])}; by SSE (test_results) and by webhook`,
  );

  const namespaceDeletion = await api<{ name: string; deletion_scheduled_for: string }>(
    world,
    'DELETE',
    `/api/namespaces/${plan.namespace}?after_days=7`,
  );
  narrate(
    '12. The lab is scheduled for deletion',
    `${namespaceDeletion.name} on ${namespaceDeletion.deletion_scheduled_for}`,
  );

  const verification = await api<{ ok: boolean; events_checked: number; first_bad: unknown }>(
    world,
    'GET',
    '/api/audit/verify',
    undefined,
    AUDITOR_TOKEN,
  );
  narrate(
    '13. An auditor verifies the log',
    `hash chains ${verification.ok ? 'intact' : 'BROKEN'} over ${verification.events_checked} events`,
  );
  const timeline = await replay(world, THREAD);
  narrate(
    '14. The auditor replays the Slack thread’s story',
    `${timeline.length} events; the first and the last:\n     ${[...timeline.slice(0, 4), '…', ...timeline.slice(-3)].join('\n     ')}`,
  );

  return {
    sessionId,
    deploymentId: planned.deployment_id,
    route: routed.route,
    worktree,
    agentFile,
    answerReply,
    deployment,
    labAnswer,
    progress,
    webhookTypes: world.slack.deliveries
      .filter((delivery) => delivery.body.session_id === sessionId)
      .map((delivery) => delivery.eventType),
    namespaceDeletion,
    verification,
    timeline,
  };
};
