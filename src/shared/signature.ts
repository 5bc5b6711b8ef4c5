import { createHmac, timingSafeEqual } from 'node:crypto';

/** Hex HMAC-SHA256 of `<version>:<timestamp>:<body>`: the scheme of the gateway's webhooks (v1) and of Slack's requests (v0). */
export const signatureOf = (version: 'v0' | 'v1', secret: string, timestamp: string, body: string): string =>
  `${version}=${createHmac('sha256', secret).update(`${version}:${timestamp}:${body}`).digest('hex')}`;

/** Compares in constant time; a signature of another length is simply wrong. */
export const signatureMatches = (expected: string, given: string | undefined): boolean => {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
};
