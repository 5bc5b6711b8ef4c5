import test from 'ava';
import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import { builderDecider, builderStream, type BuilderEvent } from '../../src/sessions/builder.js';
import { builderReleaser } from '../../src/sessions/builder-release-process.js';
import { deciderSpec } from '../support/decider-spec.js';
import { startTestGateway } from '../support/test-gateway.js';

const now = new Date('2030-01-01T00:00:00.000Z');
const at = now.toISOString();
const spec = deciderSpec(builderDecider);
const claimed = (sessionId: string): BuilderEvent => ({
  type: 'BuilderClaimed',
  data: { builder: 'platform-billing', session_id: sessionId, claimed_at: at },
});
const released = (sessionId: string): BuilderEvent => ({
  type: 'BuilderReleased',
  data: { builder: 'platform-billing', session_id: sessionId, released_at: at },
});

test('a free builder is claimed; a held one refuses another session, naming the holder', (t) => {
  spec
    .given([])
    .when({ type: 'ClaimBuilder', builder: 'platform-billing', sessionId: 's-1', now })
    .then(t, [claimed('s-1')]);
  spec
    .given([claimed('s-1')])
    .when({ type: 'ClaimBuilder', builder: 'platform-billing', sessionId: 's-2', now })
    .thenFails(t, { kind: 'conflict', state: 'held', detail: 'builder platform-billing has an open session: s-1' });
  spec
    .given([claimed('s-1')])
    .when({ type: 'ClaimBuilder', builder: 'platform-billing', sessionId: 's-1', now })
    .then(t, []);
  spec
    .given([claimed('s-1'), released('s-1')])
    .when({ type: 'ClaimBuilder', builder: 'platform-billing', sessionId: 's-2', now })
    .then(t, [claimed('s-2')]);
});

test('a holder named as replaced gives way; only the holder can release', (t) => {
  spec
    .given([claimed('ghost')])
    .when({ type: 'ClaimBuilder', builder: 'platform-billing', sessionId: 's-2', replacing: 'ghost', now })
    .then(t, [claimed('s-2')]);
  spec
    .given([claimed('s-1')])
    .when({ type: 'ReleaseBuilder', builder: 'platform-billing', sessionId: 's-9', now })
    .then(t, []);
  spec
    .given([claimed('s-1')])
    .when({ type: 'ReleaseBuilder', builder: 'platform-billing', sessionId: 's-1', now })
    .then(t, [released('s-1')]);
});

test('the releaser reacts to a session ending, keyed to the event', (t) => {
  const stored = (type: string, data: object) => ({
    id: 'e-7',
    stream: 'session-s-1',
    revision: 3,
    position: 9,
    event: { type, data },
    metadata: { actor: 'a', correlation_id: 'c', causation_id: 'x', recorded_at: at, hash: 'h' },
  });
  const [reaction] = builderReleaser.react(
    stored('SessionClosed', {
      builder: 'platform-billing',
      repos: ['api'],
      reason: null,
      remove_workspace: false,
      closed_at: at,
    }),
  );
  t.like(reaction, {
    type: 'command',
    key: 'e-7:release',
    stream: 'builder-platform-billing',
    command: { type: 'ReleaseBuilder', builder: 'platform-billing', sessionId: 's-1' },
  });
  t.deepEqual(builderReleaser.react(stored('SessionPaused', { paused_at: at })), []);
});

const OPERATOR = 'operator-token-0123456789';
const newSession = {
  category: 'platform',
  project: 'billing',
  repos: [{ name: 'api' }],
  task: { title: 'Improve things', description: 'Look.' },
};

test('one open session per builder: a second is 409 naming the first; after close the builder is free again', async (t) => {
  const gateway = await startTestGateway(t, { tokens: `slack:operator:${OPERATOR}`, repos: ['api'] });
  const post = (path: string, body: unknown) =>
    fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const first = (await (await post('/api/sessions', newSession)).json()) as { session_id: string };
  const second = await post('/api/sessions', newSession);
  t.is(second.status, 409);
  t.regex(((await second.json()) as { detail: string }).detail, new RegExp(`open session: ${first.session_id}`));
  t.is((await post(`/api/sessions/${first.session_id}/close`, {})).status, 202);
  let third: Response | undefined;
  for (let i = 0; i < 300; i++) {
    third = await post('/api/sessions', newSession);
    if (third.status === 202) break;
    await third.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.is(third?.status, 202, 'the releaser freed the builder');
});

test('a claim whose session was never created (a crash in between) does not block the builder', async (t) => {
  const gateway = await startTestGateway(t, { tokens: `slack:operator:${OPERATOR}`, repos: ['api'] });
  const crashed = await handleCommand(
    gateway.eventLog,
    builderStream('platform-billing'),
    builderDecider,
    { type: 'ClaimBuilder', builder: 'platform-billing', sessionId: 'never-created', now },
    { actor: 'slack', correlationId: 'c', causationId: 'x', now },
  );
  t.true(E.isRight(crashed));
  const response = await fetch(`${gateway.url}/api/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
    body: JSON.stringify(newSession),
  });
  t.is(response.status, 202);
});
