import { signatureOf } from '../../src/shared/signature.js';

export interface ButtonPress {
  /** The signing secret Slack signs with (a wrong one plays a forger). */
  readonly secret: string;
  readonly user?: { readonly id: string; readonly username: string };
  /** How long ago Slack signed it (negative: in the future). */
  readonly ageSeconds?: number;
  /** The form body as sent, instead of one carrying `value`. */
  readonly raw?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A button pressed in Slack: the form Slack posts, signed as Slack signs it (v0). */
export const pressSlackButton = (gatewayUrl: string, value: string, press: ButtonPress): Promise<Response> => {
  const user = press.user ?? { id: 'U42', username: 'ann' };
  const body =
    press.raw ??
    `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user, actions: [{ action_id: 'gateway', value }] }))}`;
  const timestamp = String(Math.floor(Date.now() / 1000) - (press.ageSeconds ?? 0));
  return fetch(`${gatewayUrl}/api/slack/interactions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signatureOf('v0', press.secret, timestamp, body),
      ...press.headers,
    },
    body,
  });
};
