import type { SentWebhook } from './events.js';
import { signatureOf } from '../shared/signature.js';

export type SendResult =
  { readonly ok: true; readonly status: number } | { readonly ok: false; readonly error: string };

/**
 * POSTs one webhook as the contract says: the JSON body, `Idempotency-Key: <event_id>`, and
 * `X-Gateway-Signature: v1=<hex HMAC-SHA256 of "v1:<timestamp>:<body>">`. A 2xx acknowledges.
 */
export const sendWebhook = async (options: {
  readonly url: string;
  readonly secret: string;
  readonly webhook: SentWebhook;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly now: Date;
}): Promise<SendResult> => {
  const body = JSON.stringify(options.webhook);
  const timestamp = String(Math.floor(options.now.getTime() / 1000));
  try {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': options.webhook.event_id,
        'x-gateway-timestamp': timestamp,
        'x-gateway-signature': signatureOf('v1', options.secret, timestamp, body),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
    });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    return { ok: false, error: `the receiver answered ${response.status}` };
  } catch (error) {
    if (options.signal.aborted) throw error;
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, error: `the receiver could not be reached: ${cause ?? (error as Error).message}` };
  }
};
