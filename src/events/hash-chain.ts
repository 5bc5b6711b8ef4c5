import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { JsonObject } from '../eventstore/port.js';

// The package is CommonJS whose typings declare an ES default export: at run time the import is the function.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** The hash the first event of every stream is chained to. */
export const GENESIS_HASH = '0'.repeat(64);

export interface HashedContent {
  readonly id: string;
  readonly stream: string;
  readonly revision: number;
  readonly type: string;
  readonly data: JsonObject;
  readonly actor: string;
  readonly correlation_id: string;
  readonly causation_id: string;
  readonly recorded_at: string;
}

/**
 * Chains an event to its predecessor in the same stream. Stream and revision are part of the
 * hashed content, so an edited, removed, inserted or reordered event breaks the chain.
 * RFC 8785 canonical JSON keeps the hash independent of key order.
 */
export const chainHash = (previousHash: string, content: HashedContent): string =>
  createHash('sha256')
    .update(previousHash)
    .update('\n')
    .update(canonicalize(content) ?? '')
    .digest('hex');
