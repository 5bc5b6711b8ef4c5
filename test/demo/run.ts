import { writeFileSync } from 'node:fs';
import { runWorkflow } from './workflow.js';
import { startWorld } from './world.js';

/**
 * `npm run demo`: the whole workflow on this machine, narrated. It starts the gateway (with the
 * real OpenCode), a scripted model, a fake Kubernetes API whose local kubelet runs the lab's pods
 * (as root with busybox; simulated elsewhere, saying so), and a mock Slack on 127.0.0.1, then plays
 * a person's request from Slack to a tested lab. With DEMO_WEBHOOKS=<file> it also writes every
 * webhook mock Slack received (signed headers and body, one JSON object a line): the README's
 * guide for the Slack team quotes them.
 */
const started = performance.now();
console.log(
  'Starting the gateway, OpenCode with a scripted model, a fake Kubernetes API with a local kubelet and a mock Slack on 127.0.0.1…',
);
const world = await startWorld();
console.log(`Gateway at ${world.gateway.url}\n`);
try {
  await runWorkflow(world, (step, detail) => console.log(detail ? `${step}\n     ${detail}` : step));
  console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  const webhookLog = process.env['DEMO_WEBHOOKS'];
  if (webhookLog) {
    const lines = world.slack.deliveries.map((delivery) =>
      JSON.stringify({ headers: delivery.headers, body: delivery.body }),
    );
    writeFileSync(webhookLog, `${lines.join('\n')}\n`);
    console.log(`${lines.length} webhooks written to ${webhookLog}`);
  }
} finally {
  await world.close();
}
