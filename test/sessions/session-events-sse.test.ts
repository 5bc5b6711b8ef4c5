import test, { type ExecutionContext } from 'ava';
import type { Gateway } from '../../src/composition.js';
import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import { sessionDecider } from '../../src/sessions/decider.js';
import { sessionStream } from '../../src/sessions/events.js';
import { until } from '../support/eventually.js';
import { connectSse } from '../support/sse-client.js';
import { startTestGateway } from '../support/test-gateway.js';

const TOKEN = 'operator-token-0123456789';

const start = (t: ExecutionContext): Promise<Gateway> =>
  startTestGateway(t, { tokens: `slack:operator:${TOKEN}`, repos: ['api'] });

const post = (gateway: Gateway, path: string, body: unknown = {}) =>
  fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** The events (not the retry or keepalive frames) a raw SSE connection has received so far. */
const listen = async (url: string, headers: Record<string, string> = {}) => {
  const client = await connectSse(url, TOKEN, headers);
  return {
    get frames() {
      return client.frames.filter((frame) => frame.event !== undefined);
    },
    close: client.close,
  };
};

test('GET /api/sessions/{id}/events streams status changes with revisions, and resumes after Last-Event-ID', async (t) => {
  const gateway = await start(t);
  const view = (await (
    await post(gateway, '/api/sessions', {
      category: 'platform',
      project: 'billing',
      repos: [{ name: 'api' }],
      task: { title: 'Improve things', description: 'Look.' },
    })
  ).json()) as { session_id: string };
  const url = `${gateway.url}/api/sessions/${view.session_id}/events`;
  const live = await listen(url);
  await until(() => live.frames.length === 1, 'the stream to show it');
  t.deepEqual(live.frames[0], { id: '0', event: 'status', data: '{"status":"initializing","agent_status":"idle"}' });
  await until(() => live.frames.length === 2, 'the stream to show it');
  t.deepEqual(
    live.frames[1],
    { id: '2', event: 'status', data: '{"status":"awaiting_route","agent_status":"idle"}' },
    'the workspace manager made the workspace',
  );
  await post(gateway, `/api/sessions/${view.session_id}/close`, { reason: 'done' });
  await until(() => live.frames.length === 3, 'the stream to show it');
  t.deepEqual(live.frames[2], { id: '3', event: 'status', data: '{"status":"closed","agent_status":"idle"}' });
  live.close();
  const resumed = await listen(url, { 'last-event-id': '0' });
  await until(() => resumed.frames.length === 2, 'the stream to show it');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.deepEqual(
    resumed.frames.map((frame) => frame.id),
    ['2', '3'],
    'only what came after revision 0, once',
  );
  resumed.close();
  const missing = await fetch(`${gateway.url}/api/sessions/nope/events`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  t.is(missing.status, 404);
  t.is(missing.headers.get('content-type'), 'application/problem+json');
});

test('a question the agent asks is streamed as a `question` event', async (t) => {
  const gateway = await start(t);
  const view = (await (
    await post(gateway, '/api/sessions', {
      category: 'platform',
      project: 'billing',
      repos: [{ name: 'api' }],
      task: { title: 'Fix typo in the footer', description: 'Copyrigth.' },
    })
  ).json()) as { session_id: string };
  const live = await listen(`${gateway.url}/api/sessions/${view.session_id}/events`);
  await until(() => live.frames.some((frame) => frame.data?.includes('"active"')), 'the stream to show it');
  const asked = await handleCommand(
    gateway.eventLog,
    sessionStream(view.session_id),
    sessionDecider,
    { type: 'AskQuestion', questionId: 'q-1', text: 'Which year?', options: ['2026'], now: new Date() },
    { actor: 'pm:agents', correlationId: 'c', causationId: 'e', now: new Date() },
  );
  t.true(E.isRight(asked));
  await until(() => live.frames.some((frame) => frame.event === 'question'), 'the stream to show it');
  live.close();
  t.like(live.frames.at(-1), {
    event: 'question',
    data: '{"question_id":"q-1","text":"Which year?","options":["2026"]}',
  });
});
