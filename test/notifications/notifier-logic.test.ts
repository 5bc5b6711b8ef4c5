import test from 'ava';
import { createHmac } from 'node:crypto';
import { failedWebhooks } from '../../projections/failed-webhooks.js';
import type { StoredEvent } from '../../src/events/stored-event.js';
import { deliveriesDecider } from '../../src/notifications/deliveries.js';
import type { WebhookEvent, WebhookPayload } from '../../src/notifications/events.js';
import { notifier } from '../../src/notifications/notifier.js';
import { signatureMatches, signatureOf } from '../../src/notifications/signature.js';
import { webhookFor } from '../../src/notifications/webhook-for.js';
import { foldDocuments } from '../../src/projections/projection.js';
import type { SessionEvent } from '../../src/sessions/events.js';
import { deciderSpec } from '../support/decider-spec.js';

let position = 0;
const stored = (stream: string, event: SessionEvent | WebhookEvent, id = `e-${position}`): StoredEvent => ({
  id,
  stream,
  revision: 0,
  position: position++,
  event,
  metadata: { actor: 'slack', correlation_id: 'c', causation_id: 'r', recorded_at: '2030-01-01T10:00:00.000Z', hash: 'h' },
});

const suggestion = (awaiting: boolean): SessionEvent => ({
  type: 'RouteSuggested',
  data: { suggested: 'pm', confidence: 0.4, reason: 'Suggested pm because of "pricing".', scores: { pm: 2 }, signals: [{ route: 'pm', term: 'pricing', weight: 2 }], awaiting_confirmation: awaiting },
});

test('session events become the contract’s webhooks; the causing event’s id is the webhook’s id', (t) => {
  t.deepEqual(webhookFor(stored('session-s-1', suggestion(true), 'ev-1')), {
    event_id: 'ev-1',
    event_type: 'routing_suggestion',
    occurred_at: '2030-01-01T10:00:00.000Z',
    session_id: 's-1',
    data: { suggested: 'pm', confidence: 0.4, reason: 'Suggested pm because of "pricing".', signals: [{ route: 'pm', term: 'pricing', weight: 2 }] },
  });
  t.is(webhookFor(stored('session-s-1', suggestion(false))), null, 'a route the gateway confirmed itself asks nobody');
  t.like(webhookFor(stored('session-s-1', { type: 'WorkspaceFailed', data: { builder: 'p-b', reason: 'repo ghost is neither cloned under /r nor given a url', failed_at: 'x' } })), {
    event_type: 'session_closed',
    data: { status: 'failed', reason: 'The workspace could not be prepared: repo ghost is neither cloned under /r nor given a url' },
  });
  t.like(webhookFor(stored('session-s-1', { type: 'WorkspaceInitialized', data: { workspace_path: '/w/p-b', repos: [{ name: 'api', worktree_path: '/w/p-b/repos/api', branch: 'builder/p-b', base_commit: 'abc' }], initialized_at: 'x' } })), {
    event_type: 'progress',
    data: { summary: 'Workspace ready: api on builder/p-b' },
  });
  t.like(webhookFor(stored('session-s-1', { type: 'QuestionAsked', data: { question_id: 'q-1', text: 'Which?', options: ['a'], asked_at: 'x' } })), { event_type: 'question', data: { question_id: 'q-1', text: 'Which?', options: ['a'] } });
  t.like(webhookFor(stored('session-s-1', { type: 'SessionClosed', data: { builder: 'p-b', repos: [], reason: 'done', remove_workspace: true, closed_at: 'x' } })), {
    event_type: 'session_closed',
    data: { status: 'closed', reason: 'done', remove_workspace: true },
  });
  t.is(webhookFor(stored('session-s-1', { type: 'MessageSent', data: { message_id: 'm', text: 'hi', from: null, sent_at: 'x' } })), null);
  t.is(webhookFor(stored('builder-p-b', suggestion(true))), null, 'only session streams');
});

const payload = (id: string): WebhookPayload => ({ event_id: id, event_type: 'progress', occurred_at: 'x', session_id: 's-1', data: { summary: id } });
const parked = (id: string, heldBehind: string | null = null): WebhookEvent => ({ type: 'WebhookParked', data: { event_id: id, webhook: payload(id), attempts: heldBehind ? 0 : 4, last_error: 'the receiver answered 503', held_behind: heldBehind, parked_at: 't' } });
const delivered = (id: string): WebhookEvent => ({ type: 'WebhookDelivered', data: { event_id: id, event_type: 'progress', status_code: 200, attempts: 1, delivered_at: 't' } });

test('the notifier asks for a delivery per webhook, to the session’s webhook stream, and a redelivery per retry request', (t) => {
  t.deepEqual(notifier.react(stored('session-s-1', suggestion(true), 'ev-2')), [
    { type: 'effect', key: 'ev-2:webhook', stream: 'webhook-s-1', effect: { kind: 'deliver-webhook', webhook: webhookFor(stored('session-s-1', suggestion(true), 'ev-2'))!, retry: false } },
  ]);
  const retry: WebhookEvent = { type: 'WebhookRetryRequested', data: { event_id: 'ev-2', webhook: payload('ev-2'), requested_by: 'ops', requested_at: 't' } };
  t.deepEqual(notifier.react(stored('webhook-s-1', retry, 'ev-3')), [{ type: 'effect', key: 'ev-3:redeliver', stream: 'webhook-s-1', effect: { kind: 'deliver-webhook', webhook: payload('ev-2'), retry: true } }]);
  t.deepEqual(notifier.react(stored('webhook-s-1', delivered('ev-2'))), []);
});

const spec = deciderSpec(deliveriesDecider);

test('deliveries: a parked webhook blocks its session until delivered; only a parked one can be retried', (t) => {
  spec.given([parked('a'), parked('b', 'a')]).when({ type: 'RequestRetry', eventId: 'a', requestedBy: 'ops', now: new Date('2030-01-01T00:00:00.000Z') }).then(t, [
    { type: 'WebhookRetryRequested', data: { event_id: 'a', webhook: payload('a'), requested_by: 'ops', requested_at: '2030-01-01T00:00:00.000Z' } },
  ]);
  spec.given([parked('a'), delivered('a')]).when({ type: 'RequestRetry', eventId: 'a', requestedBy: 'ops', now: new Date() }).thenFails(t, { kind: 'not_found', detail: 'no parked webhook a' });
  spec.given([]).when({ type: 'RequestRetry', eventId: 'x', requestedBy: 'ops', now: new Date() }).thenFails(t, { kind: 'not_found', detail: 'no parked webhook x' });
  const state = (events: WebhookEvent[]) => events.reduce(deliveriesDecider.evolve, deliveriesDecider.initialState());
  t.is(state([parked('a'), parked('b', 'a')]).status, 'blocked');
  t.is(state([parked('a'), parked('b', 'a'), delivered('a'), delivered('b')]).status, 'clear');
});

test('the failed list holds parked webhooks until they are delivered, counting every attempt', (t) => {
  const events = [stored('webhook-s-1', parked('a')), stored('webhook-s-1', parked('b', 'a')), stored('webhook-s-1', parked('a')), stored('webhook-s-1', delivered('b'))];
  const views = foldDocuments(failedWebhooks, events);
  t.deepEqual([...views.keys()], ['a']);
  t.like(views.get('a'), { event_id: 'a', event_type: 'progress', session_id: 's-1', attempts: 8, last_error: 'the receiver answered 503', held_behind: null });
});

test('signatures are the contract’s HMAC-SHA256 of "v1:<timestamp>:<body>", compared in constant time', (t) => {
  const expected = `v1=${createHmac('sha256', 'secret').update('v1:1700000000:{"a":1}').digest('hex')}`;
  t.is(signatureOf('v1', 'secret', '1700000000', '{"a":1}'), expected);
  t.true(signatureMatches(expected, expected));
  t.false(signatureMatches(expected, expected.replace(/.$/, (c) => (c === '0' ? '1' : '0'))));
  t.false(signatureMatches(expected, 'v1=short'));
  t.false(signatureMatches(expected, undefined));
});
