import type { Gateway } from '../../src/composition.js';

/** Anything with the gateway's base URL: a gateway started in the test, or one in a child process. */
export type Call = (
  gateway: Pick<Gateway, 'url'>,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
  token?: string,
) => Promise<Response>;

/** A JSON call to the gateway with a bearer token, `defaultToken` unless another is given. */
export const caller =
  (defaultToken: string): Call =>
  (gateway, method, path, body, headers = {}, token = defaultToken) =>
    fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).catch((error: unknown) => {
      // undici's "fetch failed" hides why: say it, so a failed test names the cause.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(
        `${method} ${gateway.url}${path}: ${(error as Error).message}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}`,
        { cause: error },
      );
    });

/** The workspace manager works in the background: polls the session's view until it shows `status`. */
export const waitForSessionStatus = async <View extends { status: string }>(
  call: Call,
  gateway: Gateway,
  sessionId: string,
  status: string,
): Promise<View> => {
  for (let i = 0; i < 500; i++) {
    const view = (await (await call(gateway, 'GET', `/api/sessions/${sessionId}`)).json()) as View;
    if (view.status === status) return view;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`session ${sessionId} never reached ${status}`);
};
