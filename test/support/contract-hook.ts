import { ContractViolationError, isExemptFromContract, responseViolations } from './contract.js';

/**
 * Loaded before every test file (ava's `require`): each response a test fetches from a gateway
 * is checked against the OpenAPI document the gateway serves, and a response that departs from
 * it fails the test at the call that received it. A gateway's answers are told apart by the
 * X-Correlation-Id header its first middleware sets on every response; other servers the tests
 * run (the fake Kubernetes API, OpenCode, mock Slack) do not send it.
 */
const fetchUnchecked = globalThis.fetch;

const methodOf = (input: Parameters<typeof fetch>[0], init: Parameters<typeof fetch>[1]): string =>
  (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();

const urlOf = (input: Parameters<typeof fetch>[0]): URL =>
  new URL(input instanceof Request ? input.url : input instanceof URL ? input.href : input);

globalThis.fetch = async (input, init) => {
  const response = await fetchUnchecked(input, init);
  if (!response.headers.has('x-correlation-id') || isExemptFromContract(urlOf(input).href)) return response;
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
