import test from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import type { Gateway } from '../../src/composition.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import { sessionDecider } from '../../src/sessions/decider.js';
import { sessionStream } from '../../src/sessions/events.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const call = caller(OPERATOR);

type View = {
  session_id: string;
  status: string;
  agent_status: string;
  pending_question: { question_id: string; text: string; options: string[] } | null;
};

/** An active session whose agent asked a question, as the agent's process manager records it. */
const sessionWithQuestion = async (gateway: Gateway): Promise<string> => {
  const body = {
    category: 'platform',
    project: 'billing',
    repos: [{ name: 'api' }],
    task: { title: 'Fix typo in the footer', description: 'It says Copyrigth.' },
  };
  const created = (await (await call(gateway, 'POST', '/api/sessions', body)).json()) as View;
  await waitForSessionStatus(call, gateway, created.session_id, 'active');
  const asked = await handleCommand(
    gateway.eventLog,
    sessionStream(created.session_id),
    sessionDecider,
    {
      type: 'AskQuestion',
      questionId: 'q-1',
      text: 'Which year goes in the footer?',
      options: ['2025', '2026'],
      now: new Date(),
    },
    { actor: 'pm:agents', correlationId: 'c-1', causationId: 'e-1', now: new Date() },
  );
  if (E.isLeft(asked)) throw new Error(JSON.stringify(asked.left));
  return created.session_id;
};

test('POST .../questions/{id}/answer records the answer once: 202 with the view, then 409; the conversation shows both', async (t) => {
  const gateway = await startTestGateway(t, {
    tokens: `slack:operator:${OPERATOR},grafana:viewer:${VIEWER}`,
    repos: ['api'],
  });
  const id = await sessionWithQuestion(gateway);
  const waiting = (await (await call(gateway, 'GET', `/api/sessions/${id}`)).json()) as View;
  t.like(waiting, {
    agent_status: 'waiting_for_answer',
    pending_question: { question_id: 'q-1', text: 'Which year goes in the footer?', options: ['2025', '2026'] },
  });

  const bad = await call(gateway, 'POST', `/api/sessions/${id}/questions/q-1/answer`, { answer: '' });
  t.is(bad.status, 400);
  t.deepEqual(
    ((await bad.json()) as { errors: { path: string }[] }).errors.map((error) => error.path),
    ['answer'],
  );
  t.is(
    (await call(gateway, 'POST', `/api/sessions/${id}/questions/q-1/answer`, { answer: '2026' }, {}, VIEWER)).status,
    403,
  );
  const unknown = await call(gateway, 'POST', `/api/sessions/${id}/questions/q-9/answer`, { answer: '2026' });
  t.is(unknown.status, 404);
  t.regex(((await unknown.json()) as { detail: string }).detail, /no question q-9 is waiting/);
  t.is((await call(gateway, 'POST', '/api/sessions/nope/questions/q-1/answer', { answer: '2026' })).status, 404);

  const answered = await call(gateway, 'POST', `/api/sessions/${id}/questions/q-1/answer`, { answer: '2026' });
  t.is(answered.status, 202);
  t.like((await answered.json()) as View, { status: 'active', agent_status: 'working', pending_question: null });
  const twice = await call(gateway, 'POST', `/api/sessions/${id}/questions/q-1/answer`, { answer: '2025' });
  t.is(twice.status, 409);
  t.regex(((await twice.json()) as { detail: string }).detail, /question q-1 was answered already/);

  const messages = (await (
    await call(gateway, 'GET', `/api/sessions/${id}/messages`, undefined, {}, VIEWER)
  ).json()) as { items: { role: string; text: string; from: string | null }[] };
  t.deepEqual(
    messages.items.map((item) => [item.role, item.text, item.from]),
    [
      ['question', 'Which year goes in the footer?', null],
      ['answer', '2026', 'slack'],
    ],
  );
});

test('a waiting question cannot be answered while the session is paused: 409 naming the state', async (t) => {
  const gateway = await startTestGateway(t, { tokens: `slack:operator:${OPERATOR}`, repos: ['api'] });
  const id = await sessionWithQuestion(gateway);
  t.is((await call(gateway, 'POST', `/api/sessions/${id}/pause`)).status, 202);
  const paused = await call(gateway, 'POST', `/api/sessions/${id}/questions/q-1/answer`, { answer: '2026' });
  t.is(paused.status, 409);
  t.regex(((await paused.json()) as { detail: string }).detail, /the session is paused/);
  const resumed = (await (await call(gateway, 'POST', `/api/sessions/${id}/resume`)).json()) as View;
  t.like(resumed, { status: 'active', agent_status: 'waiting_for_answer' }, 'the question still waits after resuming');
});
