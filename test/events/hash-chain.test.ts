import test from 'ava';
import { GENESIS_HASH, chainHash, type HashedContent } from '../../src/events/hash-chain.js';

const content: HashedContent = {
  id: '6a1f0c2e-8d4b-4a57-9d35-0c5e1b7a4f10',
  stream: 'session-1',
  revision: 0,
  type: 'SessionCreated',
  data: { session_id: '1', repos: ['a', 'b'], options: { fast: true, depth: 2 } },
  actor: 'slack',
  correlation_id: 'req-1',
  causation_id: 'req-1',
  recorded_at: '2030-01-01T00:00:00.000Z',
};

test('the genesis hash is 64 zero hex digits and a chain hash is a SHA-256 in hex', (t) => {
  t.is(GENESIS_HASH, '0'.repeat(64));
  t.regex(chainHash(GENESIS_HASH, content), /^[0-9a-f]{64}$/);
});

test('the hash is deterministic and independent of key order', (t) => {
  const reordered: HashedContent = {
    recorded_at: content.recorded_at,
    causation_id: content.causation_id,
    correlation_id: content.correlation_id,
    actor: content.actor,
    data: { options: { depth: 2, fast: true }, repos: ['a', 'b'], session_id: '1' },
    type: content.type,
    revision: content.revision,
    stream: content.stream,
    id: content.id,
  };
  t.is(chainHash(GENESIS_HASH, content), chainHash(GENESIS_HASH, { ...content }));
  t.is(chainHash(GENESIS_HASH, reordered), chainHash(GENESIS_HASH, content));
});

test('any edit to the content or to the previous hash changes the hash', (t) => {
  const original = chainHash(GENESIS_HASH, content);
  const edits: [string, HashedContent][] = [
    ['id', { ...content, id: '00000000-0000-0000-0000-000000000000' }],
    ['stream', { ...content, stream: 'session-2' }],
    ['revision', { ...content, revision: 1 }],
    ['type', { ...content, type: 'SessionClosed' }],
    ['data value', { ...content, data: { ...content.data, session_id: '2' } }],
    ['array order', { ...content, data: { ...content.data, repos: ['b', 'a'] } }],
    ['actor', { ...content, actor: 'mallory' }],
    ['correlation', { ...content, correlation_id: 'req-2' }],
    ['causation', { ...content, causation_id: 'req-2' }],
    ['time', { ...content, recorded_at: '2030-01-01T00:00:00.001Z' }],
  ];
  for (const [what, edited] of edits)
    t.not(chainHash(GENESIS_HASH, edited), original, `editing ${what} must change the hash`);
  t.not(chainHash('f'.repeat(64), content), original, 'a different predecessor must change the hash');
});

test('a chain detects a removed or reordered link', (t) => {
  const links = [0, 1, 2, 3].map((revision) => ({ ...content, revision, id: `id-${revision}` }));
  const recorded: { content: HashedContent; hash: string }[] = [];
  let previous = GENESIS_HASH;
  for (const link of links) recorded.push({ content: link, hash: (previous = chainHash(previous, link)) });
  const firstBadIndex = (chain: readonly { content: HashedContent; hash: string }[]): number => {
    let hash = GENESIS_HASH;
    for (const [index, link] of chain.entries()) {
      hash = chainHash(hash, link.content);
      if (hash !== link.hash) return index;
    }
    return -1;
  };
  t.is(firstBadIndex(recorded), -1, 'the untouched chain verifies');
  t.is(firstBadIndex([recorded[0]!, recorded[2]!, recorded[3]!]), 1, 'a removed link is detected where it was');
  t.is(firstBadIndex([recorded[0]!, recorded[2]!, recorded[1]!, recorded[3]!]), 1, 'a swap is detected');
  const edited = { content: { ...recorded[1]!.content, data: { session_id: 'forged' } }, hash: recorded[1]!.hash };
  t.is(firstBadIndex([recorded[0]!, edited, recorded[2]!, recorded[3]!]), 1, 'an edit is detected');
});
