import test from 'ava';
import { request } from 'node:http';
import { nestingDepthExceeds } from '../../src/api/middleware/request-bounds.js';
import { caller } from '../support/gateway-client.js';
import { startTestGateway } from '../support/test-gateway.js';

const OPERATOR = 'operator-token-request-bounds-01';
const call = caller(OPERATOR);
const BUNDLE = `/labs/bundles/${'a'.repeat(64)}.tar.gz`;

const problemOf = async (response: Response) => ({
  status: response.status,
  type: response.headers.get('content-type'),
  body: (await response.json()) as { detail: string; errors?: { path: string; message: string }[] },
});

test('nesting depth: counted without recursion, scalars are 0, stops past the limit', (t) => {
  t.false(nestingDepthExceeds('text', 0));
  t.false(nestingDepthExceeds({ a: [1, 2] }, 2));
  t.true(nestingDepthExceeds({ a: [1, 2] }, 1));
  t.true(
    nestingDepthExceeds(JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)), 32),
    'a deep value, no stack overflow',
  );
});

test('a request is measured before anything parses it: long or crowded queries, long paths, many headers and deep JSON are refused, naming what', async (t) => {
  const gateway = await startTestGateway(t, { tokens: `slack:operator:${OPERATOR}` });

  // The attack of the issue: 7,900 repeated keys in a URL under 16 KB, no token.
  const crowded = await problemOf(
    await fetch(`${gateway.url}${BUNDLE}?${Array.from({ length: 7900 }, () => 'a').join('&')}`),
  );
  t.like(crowded, { status: 414, type: 'application/problem+json' });
  t.deepEqual(crowded.body.errors, [{ path: 'query', message: 'at most 4096 bytes' }]);
  const many = await problemOf(
    await fetch(`${gateway.url}${BUNDLE}?${Array.from({ length: 65 }, () => 'a').join('&')}`),
  );
  t.like(many, { status: 400, body: { detail: 'the query has 65 parameters; the limit is 64' } });
  t.is(
    (await fetch(`${gateway.url}${BUNDLE}?${Array.from({ length: 64 }, () => 'a').join('&')}`)).status,
    403,
    '64 parameters reach the route (which wants a signature)',
  );

  const longPath = await problemOf(await fetch(`${gateway.url}/${'p'.repeat(2100)}`));
  t.like(longPath, { status: 414, body: { errors: [{ path: 'path', message: 'at most 2048 bytes' }] } });

  const headers = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`x-h${i}`, 'v']));
  const crowdedHeaders = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const sent = request(`${gateway.url}/health`, { headers }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    sent.on('error', reject);
    sent.end();
  });
  t.is(crowdedHeaders.status, 431);
  t.regex(crowdedHeaders.body, /header fields; the limit is 100/);

  const deep = {
    title: 'Add a CSV export',
    description: '',
    extra: JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown,
  };
  const tooDeep = await problemOf(await call(gateway, 'POST', '/api/routing/analyze', deep));
  t.like(tooDeep, { status: 400, body: { errors: [{ path: 'body', message: 'at most 32 levels deep' }] } });
  const shallow = { ...deep, extra: JSON.parse('['.repeat(30) + ']'.repeat(30)) as unknown };
  const within = await call(gateway, 'POST', '/api/routing/analyze', shallow);
  t.is(within.status, 200, '31 levels pass the depth check and the route answers');
});
