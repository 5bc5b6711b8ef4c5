import test, { type ExecutionContext } from 'ava';
import { request } from 'node:http';
import type { Gateway } from '../../src/composition.js';
import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import { sessionDecider } from '../../src/sessions/decide.js';
import { sessionStream } from '../../src/sessions/events.js';
import { startTestGateway } from '../support/test-gateway.js';

const TOKEN = 'operator-token-0123456789';

const start = (t: ExecutionContext): Promise<Gateway> => startTestGateway(t, { tokens: `slack:operator:${TOKEN}`, repos: ['api'] });

const post = (gateway: Gateway, path: string, body: unknown = {}) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Collects `id/event/data` frames from a raw SSE connection. */
const listen = (url: string, headers: Record<string, string> = {}) => {
  const frames: { id?: string; event?: string; data?: string }[] = [];
  const req = request(url, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } }, (response) => {
    let buffer = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      buffer += chunk;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const frame: Record<string, string> = {};
        for (const line of buffer.slice(0, cut).split('\n')) {
          const colon = line.indexOf(':');
          if (colon > 0) frame[line.slice(0, colon)] = line.slice(colon + 1).trim();
        }
        buffer = buffer.slice(cut + 2);
        if (frame['event']) frames.push(frame);
      }
    });
  });
  req.end();
  return { frames, close: () => req.destroy() };
};

const until = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

test('GET /api/sessions/{id}/events streams status changes with revisions, and resumes after Last-Event-ID', async (t) => {
  const gateway = await start(t);
  const view = (await (await post(gateway, '/api/sessions', { category: 'platform', project: 'billing', repos: [{ name: 'api' }], task: { title: 'Improve things', description: 'Look.' } })).json()) as { session_id: string };
  const url = `${gateway.url}/api/sessions/${view.session_id}/events`;
  const live = listen(url);
  await until(() => live.frames.length === 1);
  t.deepEqual(live.frames[0], { id: '0', event: 'status', data: '{"status":"initializing","agent_status":"idle"}' });
  await until(() => live.frames.length === 2);
  t.deepEqual(live.frames[1], { id: '2', event: 'status', data: '{"status":"awaiting_route","agent_status":"idle"}' }, 'the workspace manager made the workspace');
  await post(gateway, `/api/sessions/${view.session_id}/close`, { reason: 'done' });
  await until(() => live.frames.length === 3);
  t.deepEqual(live.frames[2], { id: '3', event: 'status', data: '{"status":"closed","agent_status":"idle"}' });
  live.close();
  const resumed = listen(url, { 'last-event-id': '0' });
  await until(() => resumed.frames.length === 2);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.deepEqual(
    resumed.frames.map((frame) => frame.id),
    ['2', '3'],
    'only what came after revision 0, once',
  );
  resumed.close();
  const missing = await fetch(`${gateway.url}/api/sessions/nope/events`, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.is(missing.status, 404);
  t.is(missing.headers.get('content-type'), 'application/problem+json');
});

test('a question the agent asks is streamed as a `question` event', async (t) => {
  const gateway = await start(t);
  const view = (await (await post(gateway, '/api/sessions', { category: 'platform', project: 'billing', repos: [{ name: 'api' }], task: { title: 'Fix typo in the footer', description: 'Copyrigth.' } })).json()) as { session_id: string };
  const live = listen(`${gateway.url}/api/sessions/${view.session_id}/events`);
  await until(() => live.frames.some((frame) => frame.data?.includes('"active"')));
  const asked = await handleCommand(
    gateway.eventLog,
    sessionStream(view.session_id),
    sessionDecider,
    { type: 'AskQuestion', questionId: 'q-1', text: 'Which year?', options: ['2026'], now: new Date() },
    { actor: 'pm:agents', correlationId: 'c', causationId: 'e', now: new Date() },
  );
  t.true(E.isRight(asked));
  await until(() => live.frames.some((frame) => frame.event === 'question'));
  live.close();
  t.like(live.frames.at(-1), { event: 'question', data: '{"question_id":"q-1","text":"Which year?","options":["2026"]}' });
});
