import type { ExecutionContext } from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import type { DeploymentView } from '../../src/deployments/deployment-view.js';
import type { SessionView } from '../../src/sessions/session-view.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import { deploymentStream } from '../../src/deployments/events.js';
import { namespaceStream } from '../../src/labs/events.js';
import { sessionDecider } from '../../src/sessions/decider.js';
import { sessionStream } from '../../src/sessions/events.js';
import { eventually } from '../support/eventually.js';
import { startFakeKube } from '../support/fake-kube.js';
import { caller } from '../support/gateway-client.js';
import { labSession } from '../support/lab-session.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

/**
 * The gateway the security properties attack: one per test file, with a state worth protecting —
 * an active session with a workspace and a question waiting for its answer, a deployment that ran
 * to the end (so a lab namespace exists), one awaiting confirmation, and parked webhooks (the
 * receiver always fails) — so that every path parameter can be a real id.
 */

/**
 * Operator tokens, used in turn. The gateway allows each token 600 requests a minute (the shipped
 * configuration, which the test gateway keeps); the properties send thousands, and a 429 would
 * answer for the handler under test. Forty tokens allow 24,000 a minute.
 */
export const OPERATORS = Array.from({ length: 40 }, (_, index) => `security-operator-${index}-0123456789`);
export const VIEWER = 'security-viewer-token-0123456789';
export const AUDITOR = 'security-auditor-token-0123456789';
export const SLACK_SECRET = 'slack-signing-secret-for-security-tests';
const WEBHOOK_SECRET = 'webhook-secret-for-security-tests';
/** The test's own readers, for snapshots, used in turn: their requests never count against the attack's viewer. */
const OBSERVERS = Array.from({ length: 10 }, (_, index) => `security-observer-${index}-0123456789`);
const TOKENS = [
  ...OPERATORS.map((token, index) => `ops${index}:operator:${token}`),
  `grafana:viewer:${VIEWER}`,
  `audit:auditor:${AUDITOR}`,
  ...OBSERVERS.map((token, index) => `observer${index}:viewer:${token}`),
].join(',');

let turn = 0;
/** The next operator token of the pool. */
export const operatorToken = (): string => OPERATORS[turn++ % OPERATORS.length]!;

export const QUESTION_ID = 'q-security-1';
export const NAMESPACE = 'billing-lab';

export interface PreparedGateway {
  readonly gateway: TestGateway;
  readonly session: SessionView;
  /** The deployment awaiting confirmation: what a refused confirm must leave alone. */
  readonly awaiting: DeploymentView;
  /** A deployment that succeeded, whose lab namespace exists. */
  readonly finished: DeploymentView;
  /** Real values for a path parameter the document names (an unknown name gets a plain id). */
  readonly realParams: (name: string) => readonly string[];
  /** Strings that must never appear in an error answer: where the gateway and its data live. */
  readonly secretsOfPlace: readonly string[];
}

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

export const prepareGateway = async (t: ExecutionContext): Promise<PreparedGateway> => {
  const fake = await startFakeKube({ podDelayMs: 20 });
  t.teardown(() => fake.close());
  // A webhook receiver that always fails: every webhook is parked at once, so the failed list has real ids.
  const receiver = createServer((_request, response) => {
    response.statusCode = 503;
    response.end('down');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const gateway = await startTestGateway(t, {
    tokens: TOKENS,
    repos: ['api', 'web'],
    kubeconfig: fake.kubeconfig,
    slackSigningSecret: SLACK_SECRET,
    webhookSecret: WEBHOOK_SECRET,
    webhooks: {
      slack_url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
      retry_attempts: 0,
      retry_delay: 10,
    },
    // Thousands of requests without a valid token come from this one address; the limit itself is tested in test/api/rate-limit.test.ts.
    server: { rate_limit_per_minute: 600, anonymous_rate_limit_per_minute: 1_000_000 },
  });
  const call = caller(OPERATORS[0]!);
  const session = await labSession(call, gateway, 'billing');

  const plan = async () =>
    json<DeploymentView>(await call(gateway, 'POST', '/api/deployments', { session_id: session.session_id }));
  const first = await plan();
  if ((await call(gateway, 'POST', `/api/deployments/${first.deployment_id}/confirm`, {})).status !== 202)
    throw new Error('the first deployment was not confirmed');
  const finished = await eventually(async () => {
    const view = await json<DeploymentView>(await call(gateway, 'GET', `/api/deployments/${first.deployment_id}`));
    return view.status === 'succeeded' || view.status === 'failed' ? view : undefined;
  }, 'the first deployment to end');
  if (finished.status !== 'succeeded') throw new Error(`the first deployment failed: ${finished.error}`);
  const awaiting = await plan();
  if (awaiting.status !== 'awaiting_confirmation') throw new Error(`the second deployment is ${awaiting.status}`);

  // The agent's question, as the bridge would record it: the answer endpoint gets a real question id.
  const context = { actor: 'builder:agents', correlationId: 'security', causationId: 'security', now: new Date() };
  const asked = await handleCommand(
    gateway.eventLog,
    sessionStream(session.session_id),
    sessionDecider,
    {
      type: 'AskQuestion',
      questionId: QUESTION_ID,
      text: 'Which footer?',
      options: ['top', 'bottom'],
      now: new Date(),
    },
    context,
  );
  if (E.isLeft(asked)) throw new Error(`the question was refused: ${JSON.stringify(asked.left)}`);

  // Background work settles: webhooks parked, the lab listed, the views caught up.
  const failed = await eventually(async () => {
    const page = await json<{ items: { event_id: string }[] }>(
      await call(gateway, 'GET', '/api/webhooks/failed?limit=500'),
    );
    return page.items.length > 0 ? page.items : undefined;
  }, 'a parked webhook');
  await eventually(
    async () =>
      (await json<{ items: { name: string }[] }>(await call(gateway, 'GET', '/api/namespaces'))).items.some(
        (item) => item.name === NAMESPACE,
      )
        ? true
        : undefined,
    'the lab namespace',
  );
  let last = '';
  await eventually(
    async () => {
      const now = JSON.stringify(await snapshotOf({ gateway, session, awaiting, finished }));
      const settled = now === last;
      last = now;
      return settled ? true : undefined;
    },
    'the prepared state to settle',
    60_000,
    300,
  );

  const real: Record<string, readonly string[]> = {
    session_id: [session.session_id],
    deployment_id: [awaiting.deployment_id, finished.deployment_id],
    question_id: [QUESTION_ID],
    name: [NAMESPACE],
    event_id: failed.map((item) => item.event_id),
    stream: [sessionStream(session.session_id), deploymentStream(awaiting.deployment_id)],
    file: [`${'0'.repeat(64)}.tar.gz`],
  };
  return {
    gateway,
    // The view as it is now, with its workspace and question.
    session: await json<SessionView>(await call(gateway, 'GET', `/api/sessions/${session.session_id}`)),
    awaiting,
    finished,
    realParams: (name) => real[name] ?? ['an-id-0001'],
    secretsOfPlace: [
      process.cwd(),
      gateway.config.data_dir,
      gateway.reposRoot,
      `${tmpdir()}/test-gateway-`,
      'node_modules',
      'node:internal',
    ],
  };
};

const streamOf = async (gateway: TestGateway, stream: string) =>
  (await gateway.eventLog.readStream(stream)).map((stored) => `${stored.revision} ${stored.event.type} ${stored.id}`);

/** The prepared aggregates' own streams, read in-process: cheap enough to compare after every request. */
export const streamsOf = async ({
  gateway,
  session,
  awaiting,
  finished,
}: Pick<PreparedGateway, 'gateway' | 'session' | 'awaiting' | 'finished'>) => ({
  session: await streamOf(gateway, sessionStream(session.session_id)),
  awaiting: await streamOf(gateway, deploymentStream(awaiting.deployment_id)),
  finished: await streamOf(gateway, deploymentStream(finished.deployment_id)),
  namespace: await streamOf(gateway, namespaceStream(NAMESPACE)),
});

/**
 * What a client sees of the prepared state: the prepared aggregates' own streams and what the
 * list endpoints answer (background process managers append bookkeeping elsewhere, so nothing
 * else is compared). Read in-process and with the viewer token, outside the attack's budget.
 */
export const snapshotOf = async (prepared: Pick<PreparedGateway, 'gateway' | 'session' | 'awaiting' | 'finished'>) => {
  const { gateway, session } = prepared;
  const read = caller(OBSERVERS[turn++ % OBSERVERS.length]!);
  const list = async (path: string) => {
    const response = await read(gateway, 'GET', path);
    // A failed read would compare equal to another failed read: a snapshot is of answers only.
    if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as unknown;
  };
  return {
    streams: await streamsOf(prepared),
    lists: {
      sessions: await list('/api/sessions?limit=500'),
      deployments: await list('/api/deployments?limit=500'),
      namespaces: await list('/api/namespaces?limit=500'),
      failedWebhooks: await list('/api/webhooks/failed?limit=500'),
      messages: await list(`/api/sessions/${session.session_id}/messages?limit=500`),
    },
  };
};
