import test from 'ava';
import { createHmac } from 'node:crypto';
import { failedWebhooks } from '../../src/notifications/failed-webhooks-view.js';
import type { StoredEvent } from '../../src/events/stored-event.js';
import { deliveriesDecider } from '../../src/notifications/decider.js';
import { countUpTo } from '../../src/notifications/envelope.js';
import type { WebhookEvent, WebhookPayload } from '../../src/notifications/events.js';
import { notifier } from '../../src/notifications/notifier-process.js';
import { scheduledRetriesDue } from '../../src/notifications/parked-retries.js';
import { scheduledRetry } from '../../src/notifications/retry-schedule.js';
import { signatureMatches, signatureOf } from '../../src/shared/signature.js';
import { webhookFor } from '../../src/notifications/webhook-for.js';
import { foldDocuments } from '../../src/projections/projection.js';
import type { SessionEvent } from '../../src/sessions/events.js';
import { deciderSpec } from '../support/decider-spec.js';

let position = 0;
const stored = (
  stream: string,
  event: SessionEvent | WebhookEvent,
  id = `e-${position}`,
  revision = 0,
): StoredEvent => ({
  id,
  stream,
  revision,
  position: position++,
  event,
  metadata: {
    actor: 'slack',
    correlation_id: 'c',
    causation_id: 'r',
    recorded_at: '2030-01-01T10:00:00.000Z',
    hash: 'h',
  },
});

const suggestion = (awaiting: boolean): SessionEvent => ({
  type: 'RouteSuggested',
  data: {
    suggested: 'pm',
    confidence: 0.4,
    reason: 'Suggested pm because of "pricing".',
    scores: { pm: 2 },
    signals: [{ route: 'pm', term: 'pricing', weight: 2 }],
    awaiting_confirmation: awaiting,
  },
});

test('session events become the contract’s webhooks; the causing event’s id is the webhook’s id', (t) => {
  t.deepEqual(webhookFor(stored('session-s-1', suggestion(true), 'ev-1')), {
    event_id: 'ev-1',
    event_type: 'routing_suggestion',
    occurred_at: '2030-01-01T10:00:00.000Z',
    session_id: 's-1',
    data: {
      suggested: 'pm',
      confidence: 0.4,
      reason: 'Suggested pm because of "pricing".',
      signals: [{ route: 'pm', term: 'pricing', weight: 2 }],
    },
  });
  t.is(webhookFor(stored('session-s-1', suggestion(false))), null, 'a route the gateway confirmed itself asks nobody');
  t.like(
    webhookFor(
      stored('session-s-1', {
        type: 'WorkspaceFailed',
        data: { builder: 'p-b', reason: 'repo ghost is neither cloned under /r nor given a url', failed_at: 'x' },
      }),
    ),
    {
      event_type: 'session_failed',
      data: { error: 'The workspace could not be prepared: repo ghost is neither cloned under /r nor given a url' },
    },
  );
  t.deepEqual(
    webhookFor(
      stored('session-s-1', {
        type: 'SessionFailed',
        data: { builder: 'p-b', reason: 'the agent could not be started', failed_at: 'x' },
      }),
    )?.data,
    { error: 'the agent could not be started' },
  );
  t.like(
    webhookFor(
      stored('session-s-1', {
        type: 'AgentTurnFailed',
        data: { message_id: 'm-1', error: 'APIError', message: 'provider said no', failed_at: 'x' },
      }),
    ),
    {
      event_type: 'agent_error',
      data: { message_id: 'm-1', error: 'APIError', message: 'provider said no' },
    },
  );
  t.like(
    webhookFor(
      stored('session-s-1', {
        type: 'WorkspaceInitialized',
        data: {
          workspace_path: '/w/p-b',
          repos: [{ name: 'api', worktree_path: '/w/p-b/repos/api', branch: 'builder/p-b', base_commit: 'abc' }],
          initialized_at: 'x',
        },
      }),
    ),
    {
      event_type: 'progress',
      data: { summary: 'Workspace ready: api on builder/p-b' },
    },
  );
  t.like(
    webhookFor(
      stored('session-s-1', {
        type: 'QuestionAsked',
        data: { question_id: 'q-1', text: 'Which?', options: ['a'], asked_at: 'x' },
      }),
    ),
    { event_type: 'question', data: { question_id: 'q-1', text: 'Which?', options: ['a'] } },
  );
  t.like(
    webhookFor(
      stored('session-s-1', {
        type: 'SessionClosed',
        data: { builder: 'p-b', repos: [], reason: 'done', remove_workspace: true, closed_at: 'x' },
      }),
    ),
    {
      event_type: 'session_closed',
      data: { status: 'closed', reason: 'done', remove_workspace: true },
    },
  );
  t.is(
    webhookFor(
      stored('session-s-1', { type: 'MessageSent', data: { message_id: 'm', text: 'hi', from: null, sent_at: 'x' } }),
    ),
    null,
  );
  t.is(webhookFor(stored('builder-p-b', suggestion(true))), null, 'only session streams');
});

const payload = (id: string): WebhookPayload => ({
  event_id: id,
  event_type: 'progress',
  occurred_at: 'x',
  session_id: 's-1',
  data: { summary: id },
});
const parked = (id: string, heldBehind: string | null = null, at = '2030-01-01T10:00:00.000Z'): WebhookEvent => ({
  type: 'WebhookParked',
  data: {
    event_id: id,
    webhook: payload(id),
    attempts: heldBehind ? 0 : 4,
    last_error: 'the receiver answered 503',
    held_behind: heldBehind,
    parked_at: at,
  },
});
const delivered = (id: string): WebhookEvent => ({
  type: 'WebhookDelivered',
  data: { event_id: id, event_type: 'progress', status_code: 200, attempts: 1, delivered_at: 't' },
});

test('the notifier asks for a delivery per webhook, to the session’s webhook stream, and a redelivery per retry request', (t) => {
  // Each delivery records what happened through the webhook stream's decider (its one write path).
  t.deepEqual(notifier.react(stored('session-s-1', suggestion(true), 'ev-2', 1)), [
    {
      type: 'effect',
      key: 'ev-2:webhook',
      stream: 'webhook-s-1',
      decider: deliveriesDecider,
      effect: {
        kind: 'deliver-webhook',
        webhook: webhookFor(stored('session-s-1', suggestion(true), 'ev-2'))!,
        revision: 1,
      },
      rerunnable: true,
    },
  ]);
  const retry: WebhookEvent = {
    type: 'WebhookRetryRequested',
    data: { event_id: 'ev-2', webhook: payload('ev-2'), requested_by: 'ops', requested_at: 't' },
  };
  t.deepEqual(notifier.react(stored('webhook-s-1', retry, 'ev-3')), [
    {
      type: 'effect',
      key: 'ev-3:redeliver',
      stream: 'webhook-s-1',
      decider: deliveriesDecider,
      effect: { kind: 'redeliver-webhook', webhook: payload('ev-2') },
      rerunnable: true,
    },
  ]);
  t.deepEqual(notifier.react(stored('webhook-s-1', delivered('ev-2'))), []);
});

/** A session's stream as the log holds it, revisions from 0. */
const history = (events: SessionEvent[]): StoredEvent[] =>
  events.map((event, revision) => stored('session-s-1', event, `h-${revision}`, revision));
const created = (
  requestedBy: { user: string | null; channel: string | null; thread_ts: string | null } | null,
): SessionEvent => ({
  type: 'SessionCreated',
  data: {
    session_id: 's-1',
    category: 'platform',
    project: 'billing',
    repos: [{ name: 'api', url: null, ref: null }],
    task: { title: 't', description: '' },
    requested_by: requestedBy,
    created_at: 'x',
  },
});

test('a webhook’s sequence is its place among the session’s webhooks, in event order; requested_by is the session’s', (t) => {
  const thread = { user: 'U1', channel: 'C1', thread_ts: '1700000000.1' };
  const events = history([
    created(thread),
    suggestion(true), // 1
    { type: 'RouteConfirmed', data: { route: 'pm', confirmed_by: 'slack', overridden: false, confirmed_at: 'x' } },
    { type: 'WorkspaceInitialized', data: { workspace_path: '/w', repos: [], initialized_at: 'x' } }, // 2
    { type: 'MessageSent', data: { message_id: 'm', text: 'hi', from: null, sent_at: 'x' } },
    { type: 'AgentTurnFailed', data: { message_id: 'm', error: 'APIError', message: 'no', failed_at: 'x' } }, // 3
  ]);
  const envelopes = events.filter((event) => webhookFor(event) !== null).map((event) => countUpTo(events, event.id));
  t.deepEqual(
    envelopes.map((count) => count?.sequence),
    [1, 2, 3],
  );
  t.true(envelopes.every((count) => JSON.stringify(count?.requestedBy) === JSON.stringify(thread)));
  t.like(countUpTo(events, 'h-3'), { revision: 3, sequence: 2 }, 'the same number however often it is counted');
  t.is(countUpTo(history([created(null), suggestion(true)]), 'h-1')?.requestedBy, null, 'nobody named: null');
  t.is(countUpTo(events, 'nope'), undefined);
});

const spec = deciderSpec(deliveriesDecider);

const MINUTE = 60_000;
const SCHEDULE = { intervalMs: 5 * MINUTE, forMs: 60 * MINUTE };
const at = (minutes: number) => new Date(Date.parse('2030-01-01T10:00:00.000Z') + minutes * MINUTE);
const retryRequested = (id: string, by: string, when: Date): WebhookEvent => ({
  type: 'WebhookRetryRequested',
  data: { event_id: id, webhook: payload(id), requested_by: by, requested_at: when.toISOString() },
});

test('deliveries: any parked webhook can be retried on request; a delivered one cannot', (t) => {
  spec
    .given([parked('a'), parked('b')])
    .when({ type: 'RequestRetry', eventId: 'a', requestedBy: 'ops', now: at(1) })
    .then(t, [retryRequested('a', 'ops', at(1))]);
  spec
    .given([parked('a'), delivered('a')])
    .when({ type: 'RequestRetry', eventId: 'a', requestedBy: 'ops', now: at(1) })
    .thenFails(t, { kind: 'not_found', detail: 'no parked webhook a' });
  spec
    .given([])
    .when({ type: 'RequestRetry', eventId: 'x', requestedBy: 'ops', now: at(1) })
    .thenFails(t, { kind: 'not_found', detail: 'no parked webhook x' });
  // Long past the schedule's window, a person may still ask.
  spec
    .given([parked('a', null, at(0).toISOString())])
    .when({ type: 'RequestRetry', eventId: 'a', requestedBy: 'ops', now: at(24 * 60) })
    .then(t, [retryRequested('a', 'ops', at(24 * 60))]);
  const state = (events: WebhookEvent[]) => events.reduce(deliveriesDecider.evolve, deliveriesDecider.initialState());
  t.is(state([parked('a'), parked('b')]).status, 'parked');
  t.is(state([parked('a'), parked('b'), delivered('a'), delivered('b')]).status, 'clear');
});

test('deliveries: the schedule retries a parked webhook every interval after its last try, within its window from the first parking', (t) => {
  const onSchedule = (now: Date) => ({ type: 'RetryOnSchedule' as const, eventId: 'a', schedule: SCHEDULE, now });
  spec
    .given([parked('a', null, at(0).toISOString())])
    .when(onSchedule(at(5)))
    .then(t, [retryRequested('a', 'timer', at(5))]);
  spec
    .given([parked('a', null, at(0).toISOString())])
    .when(onSchedule(at(4)))
    .thenFails(t, {
      kind: 'conflict',
      state: 'parked',
      detail: 'webhook a is retried on schedule at 2030-01-01T10:05:00.000Z',
    });
  // A request whose outcome has not come yet counts as a try: the schedule does not ask again at once.
  spec
    .given([parked('a', null, at(0).toISOString()), retryRequested('a', 'timer', at(5))])
    .when(onSchedule(at(6)))
    .thenFails(t, {
      kind: 'conflict',
      state: 'parked',
      detail: 'webhook a is retried on schedule at 2030-01-01T10:10:00.000Z',
    });
  // Parked again at 57 min: the next try would be at 62, past the hour from the first parking.
  spec
    .given([parked('a', null, at(0).toISOString()), parked('a', null, at(57).toISOString())])
    .when(onSchedule(at(70)))
    .thenFails(t, {
      kind: 'conflict',
      state: 'parked',
      detail: 'webhook a was parked longer than the schedule retries it; only a retry on request sends it',
    });
  spec
    .given([parked('a', null, at(0).toISOString()), parked('a', null, at(30).toISOString())])
    .when(onSchedule(at(70)))
    .thenFails(t, {
      kind: 'conflict',
      state: 'parked',
      detail: 'webhook a was parked longer than the schedule retries it; only a retry on request sends it',
    });
  spec
    .given([parked('a'), delivered('a')])
    .when(onSchedule(at(70)))
    .thenFails(t, { kind: 'conflict', state: 'clear', detail: 'webhook a is not parked' });
});

test('the schedule: the next try an interval after the last, none once past the window; due ones oldest first', (t) => {
  const times = (since: number, tried: number) => ({
    parkedSince: at(since).toISOString(),
    lastTriedAt: at(tried).toISOString(),
  });
  t.deepEqual(scheduledRetry(times(0, 30), SCHEDULE, at(31)), { status: 'waiting', at: at(35) });
  t.deepEqual(scheduledRetry(times(0, 30), SCHEDULE, at(35)), { status: 'due' });
  t.deepEqual(
    scheduledRetry(times(0, 55), SCHEDULE, at(60)),
    { status: 'due' },
    'the window’s last minute still counts',
  );
  t.deepEqual(
    scheduledRetry(times(0, 56), SCHEDULE, at(57)),
    { status: 'given_up' },
    'the next try would fall after the window',
  );
  t.deepEqual(
    scheduledRetry(times(0, 30), SCHEDULE, at(61)),
    { status: 'given_up' },
    'parked longer than the window: a try missed while the gateway was down is not made late',
  );
  const view = (id: string, position: number, since: number, tried: number) => ({
    event_id: id,
    event_type: 'progress',
    session_id: `s-${id}`,
    attempts: 1,
    last_error: 'e',
    failed_at: at(tried).toISOString(),
    held_behind: null,
    parked_since: at(since).toISOString(),
    last_tried_at: at(tried).toISOString(),
    revision: 0,
    position,
  });
  const due = scheduledRetriesDue(
    [view('late', 9, 10, 10), view('early', 2, 0, 0), view('not-yet', 5, 0, 12), view('given-up', 1, -120, -90)],
    at(15),
    SCHEDULE,
  );
  t.deepEqual(
    due.map((retry) => [retry.stream, (retry.command as { eventId: string }).eventId]),
    [
      ['webhook-s-early', 'early'],
      ['webhook-s-late', 'late'],
    ],
  );
});

test('the failed list holds parked webhooks until they are delivered, counting every attempt and keeping the schedule’s times', (t) => {
  const events = [
    stored('webhook-s-1', parked('a', null, at(0).toISOString()), 'p-a', 0),
    stored('webhook-s-1', parked('b', null, at(1).toISOString()), 'p-b', 1),
    stored('webhook-s-1', retryRequested('a', 'timer', at(5)), 'r-a', 2),
    stored('webhook-s-1', parked('a', null, at(6).toISOString()), 'p-a2', 3),
    stored('webhook-s-1', delivered('b'), 'd-b', 4),
  ];
  const views = foldDocuments(failedWebhooks, events);
  t.deepEqual([...views.keys()], ['a']);
  t.like(views.get('a'), {
    event_id: 'a',
    event_type: 'progress',
    session_id: 's-1',
    attempts: 8,
    last_error: 'the receiver answered 503',
    held_behind: null,
    parked_since: at(0).toISOString(),
    last_tried_at: at(6).toISOString(),
    revision: 3,
  });
  const requested = foldDocuments(failedWebhooks, events.slice(0, 3));
  t.is(requested.get('a')?.last_tried_at, at(5).toISOString(), 'a request counts as a try');
  t.is(requested.get('a')?.revision, 2, 'its revision is the stream’s at its last change: the ETag a retry names');
});

test('signatures are the contract’s HMAC-SHA256 of "v1:<timestamp>:<body>", compared in constant time', (t) => {
  const expected = `v1=${createHmac('sha256', 'secret').update('v1:1700000000:{"a":1}').digest('hex')}`;
  t.is(signatureOf('v1', 'secret', '1700000000', '{"a":1}'), expected);
  t.true(signatureMatches(expected, expected));
  t.false(
    signatureMatches(
      expected,
      expected.replace(/.$/, (c) => (c === '0' ? '1' : '0')),
    ),
  );
  t.false(signatureMatches(expected, 'v1=short'));
  t.false(signatureMatches(expected, undefined));
});

test('deliveries: a delivery and a parking are recorded as they happened', (t) => {
  const webhook = { ...payload('ev-9'), sequence: 4, requested_by: null };
  const now = new Date('2030-01-01T00:00:00.000Z');
  spec
    .given([])
    .when({ type: 'RecordDelivered', webhook, statusCode: 204, attempts: 2, now })
    .then(t, [
      {
        type: 'WebhookDelivered',
        data: {
          event_id: 'ev-9',
          event_type: webhook.event_type,
          status_code: 204,
          attempts: 2,
          delivered_at: now.toISOString(),
        },
      },
    ]);
  spec
    .given([])
    .when({ type: 'RecordParked', webhook, attempts: 4, lastError: 'HTTP 503', now })
    .then(t, [
      {
        type: 'WebhookParked',
        data: {
          event_id: 'ev-9',
          webhook,
          attempts: 4,
          last_error: 'HTTP 503',
          held_behind: null,
          parked_at: now.toISOString(),
        },
      },
    ]);
});
