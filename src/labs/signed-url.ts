import { createHmac } from 'node:crypto';
import { signatureMatches } from '../shared/signature.js';

const SHA256 = /^[0-9a-f]{64}$/;
const EXPIRES = /^[0-9]{1,15}$/;

const signatureOf = (sha256: string, expires: string, secret: string): string =>
  createHmac('sha256', secret).update(`bundle:${sha256}:${expires}`).digest('hex');

/**
 * A URL the lab's init container can fetch a bundle from without a token, until `expiresAt`.
 * The expiry is passed in, never read from a clock: the same inputs give the same URL, so a
 * re-applied Deployment converges instead of rolling its pod.
 */
export const signBundleUrl = (baseUrl: string, sha256: string, expiresAt: Date, secret: string): string => {
  if (!SHA256.test(sha256)) throw new Error(`not a bundle digest: ${sha256}`);
  const expires = String(Math.floor(expiresAt.getTime() / 1000));
  return `${baseUrl.replace(/\/+$/, '')}/labs/bundles/${sha256}.tar.gz?expires=${expires}&signature=${signatureOf(sha256, expires, secret)}`;
};

/** Whether a bundle URL's signature holds and is still valid at `now`; malformed input is 'bad'. */
export const checkBundleSignature = (
  sha256: string,
  expires: string,
  signature: string,
  secret: string,
  now: Date,
): 'ok' | 'expired' | 'bad' => {
  if (!SHA256.test(sha256) || !EXPIRES.test(expires)) return 'bad';
  if (!signatureMatches(signatureOf(sha256, expires, secret), signature)) return 'bad';
  return now.getTime() >= Number(expires) * 1000 ? 'expired' : 'ok';
};
