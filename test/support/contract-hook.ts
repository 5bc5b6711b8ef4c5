import { ContractViolationError, responseViolations } from './contract.js';

/**
 * Loaded before every test file (ava's `require`): each response a test fetches from a gateway
 * is checked against the OpenAPI document the gateway serves, and a response that departs from
 * it fails the test at the call that received it. A gateway's answers are told apart by the
 * X-Correlation-Id header its first middleware sets on every response; other servers the tests
 * run (the fake Kubernetes API, OpenCode, mock Slack) do not send it.
 */
const fetchUnchecked = globalThis.fetch;

/** Kept on globalThis: ava loads this file as its `require` and a test may import it again. */
const exempt: Set<string> = ((globalThis as Record<symbol, Set<string>>)[Symbol.for('contract-hook.exempt')] ??=
  new Set<string>());

/**
 * A server that is not the gateway, though built from its parts (the HTTP edge with routes a
 * test made up): its answers are not the contract's. `why` is for the reader of the test.
 */
export const exemptFromContract = (url: string, why: string): void => {
  if (why.trim() === '') throw new Error('say why a server is exempt from the contract');
  exempt.add(new URL(url).origin);
};

const methodOf = (input: Parameters<typeof fetch>[0], init: Parameters<typeof fetch>[1]): string =>
  (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();

const urlOf = (input: Parameters<typeof fetch>[0]): URL =>
  new URL(input instanceof Request ? input.url : input instanceof URL ? input.href : input);

globalThis.fetch = async (input, init) => {
  const response = await fetchUnchecked(input, init);
  if (!response.headers.has('x-correlation-id') || exempt.has(urlOf(input).origin)) return response;
  const streamed = (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
  const observed = {
    method: methodOf(input, init),
    path: urlOf(input).pathname,
    status: response.status,
    headers: response.headers,
    body: streamed ? undefined : await response.clone().text(),
  };
  const violations = responseViolations(observed);
  if (violations.length > 0) {
    await response.body?.cancel();
    throw new ContractViolationError(observed, violations);
  }
  return response;
};
