import Router from '@koa/router';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Context } from 'koa';
import type { DeploymentView } from '../deployments/deployment-view.js';
import type { SessionView } from '../sessions/session-view.js';
import { ProblemError } from '../api/problem.js';
import { stateOf } from '../api/state.js';
import { formatValidationProblems, reportValidationErrors } from '../events/validation-report.js';
import type { EventLog } from '../events/event-log.js';
import type { DocumentProjectionRunner } from '../projections/runner.js';
import { runDeploymentCommand } from '../deployments/run-command.js';
import { runSessionCommand } from '../sessions/run-command.js';
import { parseAction, type SlackAction } from './actions.js';
import { verifySlackRequest } from './verify.js';
import type { RunOnce } from '../api/middleware/idempotency.js';

/** The part of Slack's interaction payload the gateway reads: who pressed which button. */
const Payload = t.intersection([
  t.type({
    user: t.intersection([t.type({ id: t.string }), t.partial({ username: t.string })]),
    actions: t.array(t.type({ value: t.string })),
  }),
  t.partial({ team: t.type({ id: t.string }) }),
]);

export interface SlackRoutesOptions {
  readonly eventLog: EventLog;
  readonly signingSecret: string | undefined;
  readonly sessions: DocumentProjectionRunner<SessionView>;
  readonly deployments: DocumentProjectionRunner<DeploymentView>;
  /** What a client sees of a deployment view now. */
  readonly present?: (view: DeploymentView) => DeploymentView;
  readonly clock?: () => Date;
  readonly viewWaitMs?: number;
  /** `Idempotency-Key`, applied once the signature is verified, scoped to the Slack team and user. */
  readonly runOnce?: RunOnce;
}

const refuse = (detail: string): ProblemError =>
  new ProblemError(401, detail, { headers: { 'WWW-Authenticate': 'Slack-Signature' } });

/** The first action of a verified payload, or a 400 naming what is wrong. */
const actionOf = (body: unknown): { action: SlackAction; user: string; scope: string } => {
  const raw = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['payload'] : undefined;
  let json: unknown;
  try {
    json = typeof raw === 'string' ? JSON.parse(raw) : undefined;
  } catch {
    json = undefined;
  }
  if (json === undefined)
    throw new ProblemError(400, 'the form field payload must hold Slack’s JSON', {
      errors: [{ path: 'payload', message: 'expected JSON' }],
    });
  const decoded = Payload.decode(json);
  if (E.isLeft(decoded)) {
    throw new ProblemError(400, 'the payload is not a Slack interaction', {
      errors: formatValidationProblems(reportValidationErrors(decoded.left)).map((message) => ({
        path: 'payload',
        message,
      })),
    });
  }
  const [first] = decoded.right.actions;
  if (!first)
    throw new ProblemError(400, 'the payload has no action', {
      errors: [{ path: 'payload.actions', message: 'expected at least one action' }],
    });
  const action = parseAction(first.value);
  if (E.isLeft(action))
    throw new ProblemError(400, `unknown action value ${JSON.stringify(first.value.slice(0, 100))}`, {
      errors: [{ path: 'payload.actions[0].value', message: action.left }],
    });
  const { user, team } = decoded.right;
  return { action: action.right, user: user.username ?? user.id, scope: `slack:${team?.id ?? '-'}:${user.id}` };
};

/**
 * `POST /api/slack/interactions`: Slack's buttons, verified by Slack's signature (no bearer
 * token), mapped to the same commands the API runs and answered as the API answers them (202
 * with the view; 404 and 409 as problems). A wrong or stale signature is 401 and changes nothing.
 */
export const slackRoutes = (options: SlackRoutesOptions): Router => {
  const router = new Router();
  const clock = options.clock ?? (() => new Date());
  const viewWaitMs = options.viewWaitMs ?? 5000;
  const deployments = {
    eventLog: options.eventLog,
    views: options.deployments,
    viewWaitMs,
    ...(options.present ? { present: options.present } : {}),
  };
  const sessions = { eventLog: options.eventLog, views: options.sessions, viewWaitMs };

  const perform = (ctx: Context, action: SlackAction, actor: string): Promise<void> => {
    const now = clock();
    switch (action.kind) {
      case 'confirm_deployment':
        return runDeploymentCommand(ctx, deployments, action.deploymentId, {
          type: 'ConfirmDeployment',
          confirmedBy: actor,
          now,
        });
      case 'reject_deployment':
        return runDeploymentCommand(ctx, deployments, action.deploymentId, {
          type: 'RejectDeployment',
          rejectedBy: actor,
          reason: null,
          now,
        });
      case 'confirm_route':
        return runSessionCommand(ctx, sessions, action.sessionId, {
          type: 'ConfirmRoute',
          route: action.route,
          confirmedBy: actor,
          now,
        });
      case 'answer':
        return runSessionCommand(ctx, sessions, action.sessionId, {
          type: 'AnswerQuestion',
          questionId: action.questionId,
          answer: action.text,
          answeredBy: actor,
          now,
        });
      default: {
        const unexpected: never = action;
        return unexpected;
      }
    }
  };

  router.post('/api/slack/interactions', async (ctx) => {
    const rawBody = (ctx.request as { rawBody?: unknown }).rawBody;
    const verdict = verifySlackRequest({
      secret: options.signingSecret,
      timestamp: ctx.get('X-Slack-Request-Timestamp') || undefined,
      signature: ctx.get('X-Slack-Signature') || undefined,
      rawBody: typeof rawBody === 'string' ? rawBody : '',
      now: clock(),
    });
    if (verdict === 'missing')
      throw refuse(
        options.signingSecret
          ? 'X-Slack-Signature and X-Slack-Request-Timestamp are required'
          : 'Slack interactions are not configured on this gateway',
      );
    if (verdict === 'stale') throw refuse('the request timestamp is more than 5 minutes from now');
    if (verdict === 'bad') throw refuse('the Slack signature does not match');
    const { action, user, scope } = actionOf(ctx.request.body);
    // The person who pressed the button is the actor of what follows.
    const actor = `slack:${user}`;
    stateOf(ctx).principal = { name: actor, role: 'operator' };
    // Only now, signed and decoded: an unsigned request can neither take a key nor read its answer.
    if (options.runOnce) await options.runOnce(ctx, scope, () => perform(ctx, action, actor));
    else await perform(ctx, action, actor);
  });

  return router;
};
