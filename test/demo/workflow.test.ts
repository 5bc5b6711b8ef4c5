import test from 'ava';
import { readFile } from 'node:fs/promises';
import { runWorkflow } from './workflow.js';
import { startWorld } from './world.js';

/**
 * The whole workflow end to end, as `npm run demo` plays it: from a Slack request to a tested lab
 * scheduled for deletion, through the real gateway, the real OpenCode (scripted model), the fake
 * Kubernetes API with its local kubelet (the lab's pod really runs; simulated where it cannot), the mock Slack.
 */
test('a Slack request becomes a tested lab: route, workspace, agent, question, deployment, tests, deletion', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const steps: string[] = [];
  const result = await runWorkflow(world, (step, detail) => {
    steps.push(step);
    t.log(detail ? `${step}: ${detail}` : step);
  });
  // A vague request: the gateway asked a person (the routing_suggestion webhook the workflow waited for), who chose builder.
  t.like(result.route, { confirmed: 'builder', confirmed_by: 'slack:ann' });
  t.is(await readFile(result.agentFile, 'utf8'), 'written by scripted model\n', 'the agent wrote into the worktree');
  t.regex(result.answerReply, /"Which year goes in the footer\?"="2026"/, 'the answer from Slack reached the agent');
  t.like(result.deployment, {
    status: 'succeeded',
    url: 'https://billing.builder.lab.ctoaas.co',
    tests: { all_passing: true },
  });
  if (world.labs.real) {
    t.is(
      result.labAnswer,
      'Welcome to billing: invoices are due in 30 days',
      'the lab’s pod installed its dependency from the lock file and answers through its Service',
    );
    t.like(result.deployment.tests, { unit: { total: 1, passed: true }, integration: { passed: true } });
  } else t.log(`the lab’s pods were simulated: ${world.labs.why}`);
  t.true(
    result.deployment.steps.every(
      (step) => step.status === 'done' || (step.name === 'pvcs' && step.status === 'skipped'),
    ),
  );
  t.deepEqual(
    result.progress.filter((frame) => frame.event !== 'progress').map((frame) => frame.event),
    [
      'step_complete',
      'step_complete',
      'step_complete',
      'step_complete',
      'step_complete',
      'step_complete',
      'step_complete',
      'test_results',
      'step_complete',
      'complete',
    ],
  );
  // Slack heard every step of the story, in order (other progress news in between).
  // The deployment is ready once its tests ran too: their results come just before.
  const story = [
    'routing_suggestion',
    'agent_reply',
    'question',
    'agent_reply',
    'deployment_confirmation_requested',
    'test_results',
    'deployment_ready',
  ];
  let next = 0;
  for (const type of result.webhookTypes) if (type === story[next]) next++;
  t.is(next, story.length, `the story in order within: ${result.webhookTypes.join(', ')}`);
  t.deepEqual(world.slack.rejected, [], 'every webhook was signed');
  t.is(result.namespaceDeletion.name, 'billing-lab');
  t.true(Date.parse(result.namespaceDeletion.deletion_scheduled_for) > Date.now() + 6 * 86_400_000);
  t.like(result.verification, { ok: true, first_bad: null });
  t.true(result.verification.events_checked > 50);
  // The thread's whole story, from the request to the deletion date, in one timeline.
  const told = result.timeline.join('\n');
  for (const type of [
    'SessionCreated',
    'RouteSuggested',
    'RouteConfirmed',
    'WorkspaceInitialized',
    'AgentReplied',
    'QuestionAsked',
    'QuestionAnswered',
    'DeploymentRequested',
    'DeploymentConfirmed',
    'DeploymentStepCompleted',
    'TestsFinished',
    'DeploymentSucceeded',
    'NamespaceDeletionScheduled',
  ]) {
    t.true(told.includes(type), `the timeline shows ${type}`);
  }
  t.true(told.indexOf('SessionCreated') < told.indexOf('NamespaceDeletionScheduled'));
  t.is(steps.filter((step) => /^\d+\./.test(step)).length, 14);
});
