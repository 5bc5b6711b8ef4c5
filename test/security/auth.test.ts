import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import {
  documentOperations,
  fc,
  hostileRequest,
  hostileSlackRequest,
  type Auth,
  type HostileCase,
  type Operation,
} from './attack.js';
import { OPERATORS, VIEWER } from './prepared-gateway.js';
import { attackContext, attackWith, sharedGateway, Tally } from './shared-gateway.js';

/**
 * Authentication and roles over every `/api/*` operation of the OpenAPI document, whatever else
 * the request holds (hostile ids, bodies over the limit, bad JSON): no token or a bad one is 401
 * with a Bearer challenge, a role the operation does not allow is 403 — before anything else
 * looks at the request — and nothing changes. An allowed role always gets past (never 401 or
 * 403), so the properties cannot pass by refusing everything. Slack's endpoint, which has no
 * token, is 401 without Slack's signature whatever token is sent.
 */
const prepared = sharedGateway();
const RUNS = 25;

const protectedOperations = documentOperations().filter(
  (operation) => operation.path.startsWith('/api/') && !operation.slack,
);
const slack = documentOperations().find((operation) => operation.slack);

const OPERATOR = OPERATORS[0]!;
/** Authorization values that must never authenticate: near misses of a real token, other schemes, junk. */
const badAuthorization: fc.Arbitrary<Auth> = fc.oneof(
  fc
    .constantFrom(
      'Bearer',
      'Bearer ',
      'Bearer  ',
      `Bearer ${OPERATOR}x`,
      // The scheme matches in any case (RFC 9110); the token never does.
      `bearer ${OPERATOR}x`,
      `BEARER ${OPERATOR.slice(0, -1)}`,
      `bEaReR ${OPERATOR.toUpperCase()}`,
      `Bearer ${OPERATOR.slice(0, -1)}`,
      `Bearer ${OPERATOR.toUpperCase()}`,
      `Bearer  ${OPERATOR}`,
      `Bearer\t${OPERATOR}`,
      `Basic ${Buffer.from(`ops0:${OPERATOR}`).toString('base64')}`,
      `Token ${OPERATOR}`,
      `Bearer ${VIEWER}${OPERATOR}`,
      `Bearer ${OPERATOR},Bearer ${OPERATOR}`,
      `Bearer ${createHash('sha256').update(OPERATOR).digest('hex')}`,
      `Bearer ${'a'.repeat(513)}`,
      `Bearer ${OPERATOR}${'a'.repeat(600)}`,
      'Bearer \xe9\xe9\xe9',
      'Bearer null',
      'Bearer undefined',
      'Bearer ../../etc/passwd',
      "Bearer ' OR '1'='1",
      'Bearer __proto__',
    )
    .map((raw) => ({ raw })),
  fc
    .string({ unit: 'binary-ascii', minLength: 1, maxLength: 100 })
    .map((text) => ({ raw: `Bearer ${text.replace(/[^\x21-\x7e]/g, 'x')}` })),
);

/** The operation's hostile requests, sent with another Authorization, expecting `status`. */
const withAuth = (
  operation: Operation,
  auth: fc.Arbitrary<Auth>,
  defect: string,
  expect: number,
): fc.Arbitrary<HostileCase> =>
  fc
    .tuple(hostileRequest(operation, attackContext(prepared())), auth)
    .map(([hostile, chosen]) => ({ defect, expect, request: { ...hostile.request, auth: chosen } }));

const challenged = (response: { status: number; headers: Readonly<Record<string, string>> }): string | undefined =>
  response.status !== 401 || /^Bearer realm=/.test(response.headers['www-authenticate'] ?? '')
    ? undefined
    : `401 without a Bearer challenge: ${JSON.stringify(response.headers)}`;

/** Runs one property over every protected operation, `RUNS` cases each, in one test. */
const overEveryOperation = async (
  t: ExecutionContext,
  arbitraryFor: (operation: Operation) => fc.Arbitrary<HostileCase> | undefined,
  check?: Parameters<typeof attackWith>[4],
) => {
  const total = new Tally();
  let covered = 0;
  for (const operation of protectedOperations) {
    const arbitrary = arbitraryFor(operation);
    if (!arbitrary) continue;
    covered++;
    const tally = await attackWith(t, prepared(), arbitrary, RUNS, check);
    total.sent += tally.sent;
  }
  t.log(`${covered} operations × ${RUNS} cases: ${total.sent} requests`);
  t.true(covered > 0);
};

test.serial(
  'no token: every protected operation is 401 with a Bearer challenge, whatever the request holds',
  async (t) => {
    await overEveryOperation(t, (operation) => withAuth(operation, fc.constant('none'), 'no token', 401), challenged);
  },
);

test.serial(
  'a bad token (near misses of a real one, other schemes, junk) is 401 on every protected operation',
  async (t) => {
    await overEveryOperation(t, (operation) => withAuth(operation, badAuthorization, 'a bad token', 401), challenged);
  },
);

test.serial(
  'a role the operation does not allow is 403: viewer and auditor on commands, viewer on audit',
  async (t) => {
    await overEveryOperation(t, (operation) => {
      const refused = (['viewer', 'auditor'] as const).filter((role) => !operation.roles?.includes(role));
      return refused.length === 0
        ? undefined
        : withAuth(operation, fc.constantFrom<Auth>(...refused), 'a role it does not allow', 403);
    });
  },
);

test.serial(
  'an allowed role always gets past authentication (never 401 or 403), so the properties above can fail',
  async (t) => {
    await overEveryOperation(t, (operation) => {
      const allowed = (['operator', 'viewer', 'auditor'] as const).filter((role) => operation.roles?.includes(role));
      // Content types and encodings are the hostile-requests file's business: here bodies are plain JSON, and only who may call matters.
      const plain = hostileRequest(operation, attackContext(prepared()), { plainJson: true });
      return fc
        .tuple(plain, fc.constantFrom<Auth>(...allowed))
        .map(([hostile, auth]) => ({ ...hostile, forbid: [401, 403], request: { ...hostile.request, auth } }));
    });
  },
);

test.serial(
  'POST /api/slack/interactions without Slack’s signature is 401, with or without a bearer token',
  async (t) => {
    if (!slack) return t.fail('the document has no Slack interactions operation');
    const gateway = prepared();
    const unsigned = hostileSlackRequest(slack, attackContext(gateway), [gateway.finished.deployment_id])
      // A body the gateway must read before it can check a signature (over the limit, not a form) is refused as such first.
      .filter(
        (hostile) =>
          hostile.request.body?.kind === 'text' &&
          hostile.request.headers.some(
            ([name, value]) => name === 'Content-Type' && value === 'application/x-www-form-urlencoded',
          ),
      )
      .chain((hostile) =>
        fc
          .constantFrom<'none' | 'timestamp only' | 'signature only' | 'wrong secret' | 'stale' | 'future'>(
            'none',
            'timestamp only',
            'signature only',
            'wrong secret',
            'stale',
            'future',
          )
          .map((signing) => ({
            defect: `Slack signature: ${signing}`,
            expect: 401,
            request: { ...hostile.request, slackSignature: signing },
          })),
      );
    t.log((await attackWith(t, gateway, unsigned, 120)).toString());
  },
);

test.serial(
  'the Bearer scheme is matched case-insensitively (RFC 9110): bearer, BEARER and bEaReR authenticate',
  async (t) => {
    const { url } = prepared().gateway;
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const response = await fetch(`${url}/api/sessions`, { headers: { authorization: `${scheme} ${OPERATOR}` } });
      t.is(response.status, 200, scheme);
    }
    const wrongToken = await fetch(`${url}/api/sessions`, { headers: { authorization: `bearer ${OPERATOR}x` } });
    t.is(wrongToken.status, 401, 'a lower-case scheme does not loosen the token');
  },
);
