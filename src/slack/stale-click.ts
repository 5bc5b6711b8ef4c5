import type { EventLog } from '../events/event-log.js';
import type { StoredEvent } from '../events/stored-event.js';
import { deploymentStream, type DeploymentEvent } from '../deployments/events.js';
import { sessionStream, type SessionEvent } from '../sessions/events.js';
import type { SlackAction } from './actions.js';

/** Slack's answer that only the person who clicked sees; Slack shows `text` under the message. */
export interface SlackEphemeral {
  readonly response_type: 'ephemeral';
  readonly text: string;
}

/** Slack's mrkdwn reads `&`, `<` and `>` as markup: a reason or an answer written by someone is shown as written. */
const escaped = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Slack user is recorded as `slack:<name>`; in Slack the name alone reads better. */
const person = (actor: string): string => escaped(actor.startsWith('slack:') ? actor.slice('slack:'.length) : actor);

/** `10:42 UTC` on the day of the click, `2025-03-01 10:42 UTC` before it. */
const when = (iso: string, now: Date): string => {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return escaped(iso);
  const day = at.toISOString().slice(0, 10);
  const time = `${at.toISOString().slice(11, 16)} UTC`;
  return day === now.toISOString().slice(0, 10) ? time : `${day} ${time}`;
};

const quoted = (text: string): string => `“${escaped(text.length > 200 ? `${text.slice(0, 199)}…` : text)}”`;

/** What already ended the wait for a confirmation: only one of these can happen to a deployment. */
const deploymentFact = (history: readonly StoredEvent<DeploymentEvent>[], now: Date): string | undefined => {
  for (const { event } of history) {
    if (event.type === 'DeploymentConfirmed')
      return `This deployment was already confirmed by ${person(event.data.confirmed_by)} at ${when(event.data.confirmed_at, now)}.`;
    if (event.type === 'DeploymentRejected') {
      const reason = event.data.reason ? `: ${quoted(event.data.reason)}` : '';
      return `This deployment was already rejected by ${person(event.data.rejected_by)} at ${when(event.data.rejected_at, now)}${reason}.`;
    }
    if (event.type === 'DeploymentExpired')
      return `This deployment expired at ${when(event.data.expired_at, now)} before anyone confirmed it; ask for a new deployment to deploy.`;
  }
  return undefined;
};

/** Why a session takes no more clicks: the last of closed, failed or paused (a resume undoes a pause). */
const sessionEndFact = (history: readonly StoredEvent<SessionEvent>[], now: Date): string | undefined => {
  for (const { event, metadata } of [...history].reverse()) {
    switch (event.type) {
      case 'SessionClosed': {
        const reason = event.data.reason ? `: ${quoted(event.data.reason)}` : '';
        return `This session was closed by ${person(metadata.actor)} at ${when(event.data.closed_at, now)}${reason}.`;
      }
      case 'SessionFailed':
      case 'WorkspaceFailed':
        return `This session failed at ${when(event.data.failed_at, now)}: ${quoted(event.data.reason)}.`;
      case 'SessionPaused':
        return `This session was paused by ${person(metadata.actor)} at ${when(event.data.paused_at, now)}; resume it first.`;
      case 'SessionResumed':
        return undefined;
      default:
        break;
    }
  }
  return undefined;
};

const routeFact = (history: readonly StoredEvent<SessionEvent>[], now: Date): string | undefined => {
  const confirmed = history.find((stored) => stored.event.type === 'RouteConfirmed')?.event;
  if (confirmed?.type !== 'RouteConfirmed') return undefined;
  return `The route of this session was already confirmed (${confirmed.data.route}) by ${person(confirmed.data.confirmed_by)} at ${when(confirmed.data.confirmed_at, now)}.`;
};

const answerFact = (
  history: readonly StoredEvent<SessionEvent>[],
  questionId: string,
  now: Date,
): string | undefined => {
  for (const { event } of history)
    if (event.type === 'QuestionAnswered' && event.data.question_id === questionId)
      return `This question was already answered by ${person(event.data.answered_by)} at ${when(event.data.answered_at, now)}: ${quoted(event.data.answer)}.`;
  return undefined;
};

/** What the clicked action is about, in the words of a sentence, and its stream. */
const subjectOf = (action: SlackAction): { noun: string; id: string; stream: string } =>
  action.kind === 'confirm_deployment' || action.kind === 'reject_deployment'
    ? { noun: 'deployment', id: action.deploymentId, stream: deploymentStream(action.deploymentId) }
    : { noun: 'session', id: action.sessionId, stream: sessionStream(action.sessionId) };

const factOf = (action: SlackAction, history: readonly StoredEvent[], now: Date): string | undefined => {
  switch (action.kind) {
    case 'confirm_deployment':
    case 'reject_deployment':
      return deploymentFact(history as readonly StoredEvent<DeploymentEvent>[], now);
    case 'confirm_route': {
      const sessionHistory = history as readonly StoredEvent<SessionEvent>[];
      return routeFact(sessionHistory, now) ?? sessionEndFact(sessionHistory, now);
    }
    case 'answer': {
      const sessionHistory = history as readonly StoredEvent<SessionEvent>[];
      return answerFact(sessionHistory, action.questionId, now) ?? sessionEndFact(sessionHistory, now);
    }
    default: {
      const unexpected: never = action;
      return unexpected;
    }
  }
};

/**
 * The answer to a click the command refused (the API's 404 or 409): what happened instead and
 * by whom, read from the resource's history, since a Slack user cannot read a problem document
 * (Slack shows a failed request as a bare warning sign). The refusal itself came from the decider,
 * so a click racing another one is judged on the stream, not on what is read here. When the
 * history names nothing (another deployment of the lab runs, no such question is waiting), the
 * refusal's own words are shown. A resource that is not there at all is said so.
 */
export const explainRefusedClick = async (
  eventLog: EventLog,
  action: SlackAction,
  refusal: string,
  now: Date,
): Promise<SlackEphemeral> => {
  const subject = subjectOf(action);
  const history = await eventLog.readStream(subject.stream);
  const text =
    history.length === 0
      ? `There is no ${subject.noun} ${subject.id} on this gateway (any more); nothing was done.`
      : (factOf(action, history, now) ?? `Nothing was done: ${escaped(refusal)}.`);
  return { response_type: 'ephemeral', text };
};
