import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role, TokenConfig } from './schema.js';

export interface Principal {
  readonly name: string;
  readonly role: Role;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Finds the configured token a bearer token hashes to. Every configured hash is compared, in
 * constant time, whatever matches, so timing tells nothing about which tokens exist.
 */
export const authenticate = (tokens: readonly TokenConfig[], bearer: string): Principal | undefined => {
  const presented = createHash('sha256').update(bearer).digest();
  let found: Principal | undefined;
  for (const token of tokens) {
    if (timingSafeEqual(presented, Buffer.from(token.sha256, 'hex')) && !found)
      found = { name: token.name, role: token.role };
  }
  return found;
};

/** A fresh operator token for a laptop start without configured tokens: 32 random bytes, URL-safe. */
export const generateToken = (): string => `gw_${randomBytes(32).toString('base64url')}`;

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|\[::1\]|localhost)$/i;
export const isLoopback = (host: string): boolean => LOOPBACK.test(host);
