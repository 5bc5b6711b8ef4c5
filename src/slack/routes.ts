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
import { runDeploymentCommand, type DeploymentCommandDeps } from '../deployments/run-command.js';
import { runSessionCommand, type SessionCommandDeps } from '../sessions/run-command.js';
import { parseAction, type SlackAction } from './actions.js';
import { explainRefusedClick } from './stale-click.js';
import { verifySlackRequest } from './verify.js';
import type { RunOnce } from '../api/middleware/idempotency.js';

/**
 * One action of Slack's payload: a button carries `value`; a select menu, radio group or
 * overflow menu carries the chosen `selected_option.value`. Both are optional here so that a
 * payload with neither is refused naming the field rather than with io-ts's union report.
 */
const PayloadAction = t.partial({ value: t.string, selected_option: t.type({ value: t.string }) });

/** The part of Slack's interaction payload the gateway reads: who pressed which button. */
const Payload = t.intersection([
  t.type({
    user: t.intersection([t.type({ id: t.string }), t.partial({ username: t.string })]),
    actions: t.array(PayloadAction),
  }),
  t.partial({ team: t.type({ id: t.string }) }),
]);
type Payload = t.TypeOf<typeof Payload>;

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

/** The form field `payload`, decoded, or a 400 naming what is wrong. */
const payloadOf = (body: unknown): Payload => {
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
  return decoded.right;
};

/** The first action's value, from a button or a menu, and where it was read (for a 400 that names it). */
const valueOf = (actions: Payload['actions']): { value: string; path: string } => {
  const [first] = actions;
  if (!first)
    throw new ProblemError(400, 'the payload has no action', {
      errors: [{ path: 'payload.actions', message: 'expected at least one action' }],
    });
  if (first.value !== undefined) return { value: first.value, path: 'payload.actions[0].value' };
  if (first.selected_option)
    return { value: first.selected_option.value, path: 'payload.actions[0].selected_option.value' };
  throw new ProblemError(400, 'the action carries no value', {
    errors: [
      {
        path: 'payload.actions[0].value',
        message: 'expected value (a button) or selected_option.value (a select menu or radio group)',
      },
    ],
  });
};

/** The first action of a verified payload, or a 400 naming what is wrong. */
const actionOf = (body: unknown): { action: SlackAction; user: string; scope: string } => {
  const { user, team, actions } = payloadOf(body);
  const { value, path } = valueOf(actions);
  const action = parseAction(value);
  if (E.isLeft(action))
    throw new ProblemError(400, `unknown action value ${JSON.stringify(value.slice(0, 100))}`, {
      errors: [{ path, message: action.left }],
    });
  return { action: action.right, user: user.username ?? user.id, scope: `slack:${team?.id ?? '-'}:${user.id}` };
};

interface Commands {
  readonly deployments: DeploymentCommandDeps;
  readonly sessions: SessionCommandDeps;
}

/** The API's command for the action, answered as the API answers it (202 with the view, or a problem). */
const perform = (ctx: Context, commands: Commands, action: SlackAction, actor: string, now: Date): Promise<void> => {
  switch (action.kind) {
    case 'confirm_deployment':
      return runDeploymentCommand(ctx, commands.deployments, action.deploymentId, {
        type: 'ConfirmDeployment',
        confirmedBy: actor,
        now,
      });
    case 'reject_deployment':
      return runDeploymentCommand(ctx, commands.deployments, action.deploymentId, {
        type: 'RejectDeployment',
        rejectedBy: actor,
        reason: null,
        now,
      });
    case 'confirm_route':
      return runSessionCommand(ctx, commands.sessions, action.sessionId, {
        type: 'ConfirmRoute',
        route: action.route,
        confirmedBy: actor,
        now,
      });
    case 'answer':
      return runSessionCommand(ctx, commands.sessions, action.sessionId, {
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

/**
 * A refusal a person should read rather than retry: the resource is unknown (404) or not in a
 * state the click can act on (409). A 409 with Retry-After (the stream kept changing under the
 * command) is transient and stays a problem, so neither Slack's retry nor the idempotency record
 * turns it into a final answer.
 */
const isRefusal = (error: unknown): error is ProblemError =>
  error instanceof ProblemError &&
  (error.status === 404 || (error.status === 409 && error.headers['Retry-After'] === undefined));

/** Runs the click; one that can no longer act is answered 200 with an ephemeral message saying why, and appends nothing. */
const answerClick = async (
  ctx: Context,
  commands: Commands,
  action: SlackAction,
  actor: string,
  now: Date,
): Promise<void> => {
  try {
    await perform(ctx, commands, action, actor, now);
  } catch (error) {
    if (!isRefusal(error)) throw error;
    ctx.status = 200;
    ctx.body = await explainRefusedClick(commands.deployments.eventLog, action, error.detail, now);
  }
};

/** Slack's signature checked, or a 401 saying what is wrong; nothing else is read before. */
const assertSigned = (ctx: Context, signingSecret: string | undefined, now: Date): void => {
  const rawBody = (ctx.request as { rawBody?: unknown }).rawBody;
  const verdict = verifySlackRequest({
    secret: signingSecret,
    timestamp: ctx.get('X-Slack-Request-Timestamp') || undefined,
    signature: ctx.get('X-Slack-Signature') || undefined,
    rawBody: typeof rawBody === 'string' ? rawBody : '',
    now,
  });
  if (verdict === 'missing')
    throw refuse(
      signingSecret
        ? 'X-Slack-Signature and X-Slack-Request-Timestamp are required'
        : 'Slack interactions are not configured on this gateway',
    );
  if (verdict === 'stale') throw refuse('the request timestamp is more than 5 minutes from now');
  if (verdict === 'bad') throw refuse('the Slack signature does not match');
};

/**
 * `POST /api/slack/interactions`: Slack's buttons and menus, verified by Slack's signature (no
 * bearer token), mapped to the same commands the API runs: 202 with the view when the command
 * acts; a click that can no longer act (already confirmed, rejected, expired, answered; closed;
 * unknown) is 200 with an ephemeral Slack message saying what happened and by whom. A wrong or
 * stale signature is 401 and changes nothing; a malformed payload is 400.
 */
export const slackRoutes = (options: SlackRoutesOptions): Router => {
  const router = new Router();
  const clock = options.clock ?? (() => new Date());
  const viewWaitMs = options.viewWaitMs ?? 5000;
  const commands: Commands = {
    deployments: {
      eventLog: options.eventLog,
      views: options.deployments,
      viewWaitMs,
      ...(options.present ? { present: options.present } : {}),
    },
    sessions: { eventLog: options.eventLog, views: options.sessions, viewWaitMs },
  };

  router.post('/api/slack/interactions', async (ctx) => {
    assertSigned(ctx, options.signingSecret, clock());
    const { action, user, scope } = actionOf(ctx.request.body);
    // The person who pressed the button is the actor of what follows.
    const actor = `slack:${user}`;
    stateOf(ctx).principal = { name: actor, role: 'operator' };
    const run = () => answerClick(ctx, commands, action, actor, clock());
    // Only now, signed and decoded: an unsigned request can neither take a key nor read its answer.
    if (options.runOnce) await options.runOnce(ctx, scope, run);
    else await run();
  });

  return router;
};
