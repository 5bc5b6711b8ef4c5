import { createOpencodeClient, type OpencodeClient } from '@opencode-ai/sdk/v2';
import type { OpenCodeEndpoint } from './opencode-server.js';

/** The SDK's client for the server's current endpoint (its port and password change with every start). */
export const openCodeClient = (endpoint: OpenCodeEndpoint | undefined): OpencodeClient => {
  if (!endpoint) throw new OpenCodeUnavailableError();
  return createOpencodeClient({ baseUrl: endpoint.url, headers: { authorization: endpoint.authorization } });
};

class OpenCodeUnavailableError extends Error {
  override readonly name = 'OpenCodeUnavailableError';
  constructor() {
    super('the OpenCode server is not running (it is being restarted)');
  }
}

/** The SDK answers `{ data, error, response }`; a failed call throws here, naming the route and status. */
export const must = async <T>(
  call: Promise<{ data?: T; error?: unknown; response?: Response }>,
  what: string,
): Promise<T> => {
  const result = await call;
  if (result.error !== undefined || result.data === undefined) {
    throw new OpenCodeCallError(what, result.response?.status, result.error);
  }
  return result.data;
};

/** For routes that answer 204 with no body: only an error counts. */
export const mustSucceed = async (
  call: Promise<{ error?: unknown; response?: Response }>,
  what: string,
): Promise<void> => {
  const result = await call;
  if (result.error !== undefined) throw new OpenCodeCallError(what, result.response?.status, result.error);
};

class OpenCodeCallError extends Error {
  override readonly name = 'OpenCodeCallError';
  constructor(
    readonly what: string,
    readonly status: number | undefined,
    readonly detail: unknown,
  ) {
    super(`OpenCode ${what} failed${status ? ` (${status})` : ''}: ${JSON.stringify(detail)?.slice(0, 300)}`);
  }
}
