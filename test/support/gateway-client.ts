import type { Gateway } from '../../src/composition.js';
import type { SessionView } from '../../src/sessions/session-view.js';

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

/**
 * A session of project `ledger` whose route waits for a person ("Improve things": the signals are
 * unsure), once it is `awaiting_route`: what a Slack button or an answer to a suggestion acts on.
 */
export const openUnsureSession = async (call: Call, gateway: Gateway): Promise<SessionView> => {
  const created = (await (
    await call(gateway, 'POST', '/api/sessions', {
      category: 'platform',
      project: 'ledger',
      repos: [{ name: 'api' }],
      task: { title: 'Improve things', description: 'Have a look.' },
    })
  ).json()) as SessionView;
  await waitForSessionStatus(call, gateway, created.session_id, 'awaiting_route');
  return created;
};
