import { randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
let counter = 0;
let lastMs = 0;

/**
 * A message id in OpenCode's own form (`msg_` + 12 hex digits of time × 4096 + a counter, then 14
 * random base-62 characters), so a prompt the gateway names sorts after what came before it.
 */
export const newOpenCodeMessageId = (now = Date.now()): string => {
  counter = now === lastMs ? counter + 1 : 0;
  lastMs = now;
  const time = ((BigInt(now) * 4096n + BigInt(counter)) & 0xffffffffffffn).toString(16).padStart(12, '0');
  const random = [...randomBytes(14)].map((byte) => BASE62[byte % 62]).join('');
  return `msg_${time}${random}`;
};
