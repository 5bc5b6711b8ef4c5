import test from 'ava';
import {
  documentOperations,
  fc,
  hostileRequest,
  hostileSlackRequest,
  isCommand,
  unlistedMethodRequest,
  type Operation,
} from './attack.js';
import { caller } from '../support/gateway-client.js';
import { VIEWER, operatorToken } from './prepared-gateway.js';
import { attackContext, attackWith, sharedGateway } from './shared-gateway.js';

/**
 * Every operation of the OpenAPI document, attacked with generated hostile requests carrying a
 * valid operator token: malformed and schema-breaking bodies (wrong types, missing members, huge
 * strings, deep nesting, prototype keys, invalid UTF-8), other content types, bodies over the
 * limit (a gzip bomb too), hostile ids, query strings and headers (Idempotency-Key, If-Match,
 * Last-Event-ID and more). Properties: never a 5xx; every command is refused (each carries a
 * defect the contract refuses); each 4xx is a problem document; no stack trace or path of the
 * gateway's own in an answer; and what clients see of the prepared state is unchanged after the run.
 */
const prepared = sharedGateway();

/** Commands get more cases than reads: they have more ways to be wrong and state to protect. */
const RUNS = { command: 200, read: 100 };

for (const operation of documentOperations()) {
  const runs = isCommand(operation) ? RUNS.command : RUNS.read;
  test.serial(`${operation.name}: hostile requests never get a 5xx, a leak or a state change`, async (t) => {
    const gateway = prepared();
    const context = attackContext(gateway);
    const arbitrary = operation.slack
      ? hostileSlackRequest(operation, context, [gateway.finished.deployment_id])
      : hostileRequest(operation, context);
    t.log((await attackWith(t, gateway, arbitrary, runs)).toString());
  });
}

/** Every path with the methods it does not list: a router's 405 or 404 as a problem, never a handler run. */
const byPath = new Map<string, Operation[]>();
for (const operation of documentOperations())
  byPath.set(operation.path, [...(byPath.get(operation.path) ?? []), operation]);
test.serial(`methods a path does not list, and HEAD on the ones it reads, on all ${byPath.size} paths`, async (t) => {
  const gateway = prepared();
  const arbitrary = fc.oneof(
    ...[...byPath].map(([path, listed]) => unlistedMethodRequest(path, listed, attackContext(gateway))),
  );
  t.log((await attackWith(t, gateway, arbitrary, byPath.size * 25)).toString());
});

test.serial('after the attack the gateway is alive: /health answers and a valid request still works', async (t) => {
  const { gateway, session } = prepared();
  const health = await fetch(`${gateway.url}/health`);
  t.is(health.status, 200);
  const view = await caller(VIEWER)(gateway, 'GET', `/api/sessions/${session.session_id}`);
  t.is(view.status, 200);
  const analyzed = await caller(operatorToken())(gateway, 'POST', '/api/routing/analyze', {
    title: 'Add a pricing page',
    description: 'Business rules for plans.',
  });
  t.is(analyzed.status, 200);
});
