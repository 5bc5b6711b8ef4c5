import { signatureMatches, signatureOf } from '../shared/signature.js';

/** Slack's replay window: a request signed more than 5 minutes from now is refused. */
const SLACK_WINDOW_SECONDS = 300;

export type SlackVerdict = 'ok' | 'missing' | 'stale' | 'bad';

/**
 * Slack's request signing: `v0=` hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing
 * secret, compared in constant time, and the timestamp within 5 minutes of now (either way).
 */
export const verifySlackRequest = (options: {
  secret: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: string;
  now: Date;
}): SlackVerdict => {
  const { secret, timestamp, signature } = options;
  if (!secret || !timestamp || !signature) return 'missing';
  if (!/^\d{1,12}$/.test(timestamp)) return 'bad';
  if (Math.abs(options.now.getTime() / 1000 - Number(timestamp)) > SLACK_WINDOW_SECONDS) return 'stale';
  return signatureMatches(signatureOf('v0', secret, timestamp, options.rawBody), signature) ? 'ok' : 'bad';
};
