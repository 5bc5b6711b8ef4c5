import test from 'ava';
import { gzipSync } from 'node:zlib';
import type { SessionView } from '../../src/sessions/session-view.js';
import { sessionStream } from '../../src/sessions/events.js';
import { caller, waitForSessionStatus } from '../support/gateway-client.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';
import { sendRaw, type RawResponse } from './raw-http.js';

/**
 * The two body faults the generated attacks found, each pinned by one plain request: a
 * Content-Encoding the body does not have, and a `+json` media type the 415 gate lets in but
 * the body parser never parses.
 */
const OPERATOR = 'operator-token-0123456789';
const call = caller(OPERATOR);

const post = (
  gateway: TestGateway,
  path: string,
  headers: Record<string, string>,
  body: Buffer | string,
  framing: 'length' | 'chunked' = 'length',
): Promise<RawResponse> =>
  sendRaw(gateway.url, {
    method: 'POST',
    target: path,
    headers: [['Authorization', `Bearer ${OPERATOR}`], ...Object.entries(headers)],
    body,
    framing,
  });

const isProblem = (response: RawResponse, status: number): boolean =>
  response.status === status &&
  (response.headers['content-type'] ?? '').startsWith('application/problem+json') &&
  (JSON.parse(response.text) as { status?: number }).status === status;

const ANALYZE = JSON.stringify({ title: 'Add a pricing page', description: 'Plans and business rules.' });

test('a body that does not have its declared Content-Encoding is a 400 problem, not a 500', async (t) => {
  const gateway = await startTestGateway(t, { tokens: `ops:operator:${OPERATOR}` });
  // The encoding itself is supported: a gzipped body is read.
  const gzipped = await post(
    gateway,
    '/api/routing/analyze',
    { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
    gzipSync(ANALYZE),
  );
  t.is(gzipped.status, 200, gzipped.text);
  // A body that is not what its Content-Encoding says is the client's error.
  const answers: Record<string, string> = {};
  for (const encoding of ['gzip', 'deflate', 'br']) {
    const response = await post(
      gateway,
      '/api/routing/analyze',
      { 'Content-Type': 'application/json', 'Content-Encoding': encoding },
      ANALYZE,
    );
    answers[encoding] = isProblem(response, 400) ? '400 problem' : `${response.status} ${response.text}`;
  }
  t.deepEqual(answers, { gzip: '400 problem', deflate: '400 problem', br: '400 problem' });
});

test('a +json body the parser does not read is refused: malformed or over the limit, it never runs a command', async (t) => {
  const gateway = await startTestGateway(t, { tokens: `ops:operator:${OPERATOR}`, repos: ['api'] });
  const created = (await (
    await call(gateway, 'POST', '/api/sessions', {
      category: 'lab',
      project: 'billing',
      repos: [{ name: 'api' }],
      task: { title: 'Fix the typo in the footer', description: 'Small change.' },
    })
  ).json()) as SessionView;
  await waitForSessionStatus(call, gateway, created.session_id, 'active');
  const history = async () =>
    (await gateway.eventLog.readStream(sessionStream(created.session_id))).map((stored) => stored.id);
  const before = await history();
  // The contract's way: application/json, malformed, is 400.
  t.true(
    isProblem(
      await post(gateway, `/api/sessions/${created.session_id}/pause`, { 'Content-Type': 'application/json' }, '{'),
      400,
    ),
  );
  // Other +json types: whether the gateway parses them (400, 413) or refuses them (415), it must not take them as an empty body.
  const answers: Record<string, string> = {};
  const expected: Record<string, string> = {};
  const refused = (response: RawResponse) =>
    [400, 413, 415].some((status) => isProblem(response, status))
      ? 'refused'
      : `${response.status} ${response.text.slice(0, 120)}`;
  for (const type of ['application/merge-patch+json', 'application/problem+json', 'application/vnd.acme+json']) {
    answers[`${type}, malformed`] = refused(
      await post(gateway, `/api/sessions/${created.session_id}/pause`, { 'Content-Type': type }, '{'),
    );
    answers[`${type}, over the limit`] = refused(
      await post(
        gateway,
        `/api/sessions/${created.session_id}/pause`,
        { 'Content-Type': type },
        `{"x":"${'A'.repeat(gateway.config.server.body_limit)}"}`,
        'chunked',
      ),
    );
    expected[`${type}, malformed`] = 'refused';
    expected[`${type}, over the limit`] = 'refused';
  }
  t.deepEqual(answers, expected);
  t.deepEqual(await history(), before, 'refused requests paused the session');
});
