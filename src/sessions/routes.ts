import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import * as E from 'fp-ts/lib/Either.js';
import type { Context } from 'koa';
import { evolveSessionView, type SessionView } from './session-view.js';
import { answerView } from '../api/as-of.js';
import { ProblemError } from '../api/problem.js';
import type { SseHub } from '../api/sse.js';
import { commandContextOf } from '../api/state.js';
import { decodeBody, pageOf, paginate } from '../api/validation.js';
import { foldEvents } from '../commands/decider.js';
import { domainErrorToProblem } from '../api/domain-problem.js';
import { handleCommand } from '../commands/handle-command.js';
import type { EventLog } from '../events/event-log.js';
import type { DocumentProjectionRunner } from '../projections/runner.js';
import type { RoutingTask } from '../routing/analyze.js';
import type { AssistedAnalysis } from '../routing/assisted.js';
import { builderDecider, builderStream, type BuilderEvent } from './builder.js';
import type { SessionCommand } from './decider.js';
import { sessionStream, type SessionEvent } from './events.js';
import { runSessionCommand } from './run-command.js';
import { sessionEventsRoute } from './session-sse.js';
import { hasEnded, isSessionStatus } from './status.js';
import {
  AnswerQuestionBody,
  CloseSessionBody,
  ConfirmRouteBody,
  CreateSessionBody,
  SendMessageBody,
} from './request-codecs.js';

type ConversationEntry = {
  message_id: string;
  role: 'user' | 'agent' | 'question' | 'answer' | 'error';
  text: string;
  from: string | null;
  at: string;
};

/** The conversation is the session's own history: what people sent, the agent's final replies, its questions and their answers, and its turns that failed, saying why. */
const conversationEntry = (event: SessionEvent): ConversationEntry[] => {
  switch (event.type) {
    case 'MessageSent':
      return [
        {
          message_id: event.data.message_id,
          role: 'user',
          text: event.data.text,
          from: event.data.from,
          at: event.data.sent_at,
        },
      ];
    case 'AgentReplied':
      return [
        {
          message_id: event.data.message_id,
          role: 'agent',
          text: event.data.text,
          from: null,
          at: event.data.replied_at,
        },
      ];
    case 'QuestionAsked':
      return [
        {
          message_id: event.data.question_id,
          role: 'question',
          text: event.data.text,
          from: null,
          at: event.data.asked_at,
        },
      ];
    case 'QuestionAnswered':
      return [
        {
          message_id: `${event.data.question_id}:answer`,
          role: 'answer',
          text: event.data.answer,
          from: event.data.answered_by,
          at: event.data.answered_at,
        },
      ];
    case 'AgentTurnFailed':
      return [
        {
          message_id: event.data.message_id,
          role: 'error',
          text: `The agent's turn failed: ${event.data.message}`,
          from: null,
          at: event.data.failed_at,
        },
      ];
    default:
      return [];
  }
};

export interface SessionRoutesOptions {
  readonly eventLog: EventLog;
  readonly views: DocumentProjectionRunner<SessionView>;
  /** The route suggested for a new session's task (the signals, and the model's second opinion when configured). */
  readonly suggest: (task: RoutingTask) => Promise<AssistedAnalysis>;
  readonly autoConfirmConfidence: number;
  /** Serves GET /api/sessions/{id}/events. */
  readonly sse: SseHub;
  readonly newId?: () => string;
  readonly clock?: () => Date;
  /** How long a command's response waits for the view to show its events. */
  readonly viewWaitMs?: number;
  /** Throws (a 503 problem) while there is no room to start new work; absent: always room. */
  readonly admitNewWork?: () => Promise<void>;
  /** The repository URL policy (workspace.allowed_url_patterns, private addresses, local folders): the URL as kept, or why it is refused. */
  readonly checkRepoUrl: (
    url: string,
  ) => Promise<E.Either<string, { readonly url: string; readonly identity: readonly string[] }>>;
}

/** What every session route shares: the options, their defaults filled in, and how a command is run. */
interface SessionRouteDeps {
  readonly options: SessionRoutesOptions;
  readonly newId: () => string;
  readonly clock: () => Date;
  /** Runs a command on one session and answers 202 with the view as the command left it. */
  readonly run: (
    ctx: Context,
    sessionId: string,
    command: SessionCommand,
    answer?: (view: SessionView) => unknown,
  ) => Promise<void>;
}

/**
 * One open session per builder: claim it first. A holder whose session was never created (a
 * crash between the claim and the creation) is replaced; a real one is a 409 naming it.
 */
const claimBuilder = async (
  { options, clock }: SessionRouteDeps,
  ctx: Context,
  builder: string,
  sessionId: string,
): Promise<void> => {
  const claim = (replacing?: string) =>
    handleCommand(
      options.eventLog,
      builderStream(builder),
      builderDecider,
      { type: 'ClaimBuilder', builder, sessionId, ...(replacing ? { replacing } : {}), now: clock() },
      commandContextOf(ctx, clock()),
    );
  let result = await claim();
  if (E.isLeft(result)) {
    const holder = foldEvents(
      builderDecider,
      (await options.eventLog.readStream<BuilderEvent>(builderStream(builder))).map((stored) => stored.event),
    );
    if (
      holder.status === 'held' &&
      (await options.eventLog.readStream(sessionStream(holder.sessionId), { maxCount: 1 })).length === 0
    ) {
      result = await claim(holder.sessionId);
    }
  }
  if (E.isLeft(result)) throw domainErrorToProblem(result.left);
};

/**
 * A new session's repos, checked: each one's URL as kept (null when none was given), in the body's
 * order; or a 400 listing every problem (a name listed twice, a refused URL, one repository twice).
 */
const checkedRepoUrls = async (
  repos: CreateSessionBody['repos'],
  checkRepoUrl: SessionRoutesOptions['checkRepoUrl'],
): Promise<readonly { readonly url: string | null }[]> => {
  const names = repos.map((repo) => repo.name);
  const repeated = names.flatMap((name, index) =>
    names.indexOf(name) !== index ? [{ path: `repos[${index}].name`, message: `repo ${name} is listed twice` }] : [],
  );
  // Every URL is checked before anything is appended; what is kept has no credentials in it.
  const urls = await Promise.all(
    repos.map(async (repo, index) => {
      if (repo.url === undefined) return { url: null };
      const verdict = await checkRepoUrl(repo.url);
      return E.isRight(verdict)
        ? { url: verdict.right.url, identity: verdict.right.identity.join('/') }
        : { url: null, error: { path: `repos[${index}].url`, message: verdict.left } };
    }),
  );
  // One repository is one clone with one builder branch: it cannot be two repos of a session.
  const identities = urls.map((checked) => checked.identity);
  const sameRepository = identities.flatMap((identity, index) =>
    identity !== undefined && identities.indexOf(identity) !== index
      ? [{ path: `repos[${index}].url`, message: `the same repository as repos[${identities.indexOf(identity)}]` }]
      : [],
  );
  const problems = [
    ...repeated,
    ...urls.flatMap((checked) => (checked.error ? [checked.error] : [])),
    ...sameRepository,
  ];
  if (problems.length > 0)
    throw new ProblemError(
      400,
      `the request body is not valid: ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
      { errors: problems },
    );
  return urls;
};

const createSessionRoute = (router: Router, deps: SessionRouteDeps): void => {
  const { options, newId, clock, run } = deps;
  router.post('/api/sessions', async (ctx) => {
    const body = decodeBody(CreateSessionBody, ctx);
    const urls = await checkedRepoUrls(body.repos, options.checkRepoUrl);
    await options.admitNewWork?.();
    const sessionId = newId();
    await claimBuilder(deps, ctx, `${body.category}-${body.project}`, sessionId);
    await run(ctx, sessionId, {
      type: 'CreateSession',
      sessionId,
      category: body.category,
      project: body.project,
      repos: body.repos.map((repo, index) => ({ name: repo.name, url: urls[index]!.url, ref: repo.ref ?? null })),
      task: body.task,
      requestedBy: body.requested_by
        ? {
            user: body.requested_by.user ?? null,
            channel: body.requested_by.channel ?? null,
            thread_ts: body.requested_by.thread_ts ?? null,
          }
        : null,
      analysis: await options.suggest(body.task),
      autoConfirmConfidence: options.autoConfirmConfidence,
      now: clock(),
    });
  });
};

const listSessionsRoute = (router: Router, { options }: SessionRouteDeps): void => {
  router.get('/api/sessions', (ctx) => {
    const page = pageOf(ctx);
    const { status, category, project } = ctx.query;
    const errors = [
      ...(status !== undefined && !isSessionStatus(status)
        ? [{ path: 'query.status', message: 'expected a session status' }]
        : []),
      ...(category !== undefined && typeof category !== 'string'
        ? [{ path: 'query.category', message: 'expected one category' }]
        : []),
      ...(project !== undefined && typeof project !== 'string'
        ? [{ path: 'query.project', message: 'expected one project' }]
        : []),
    ];
    if (errors.length > 0) throw new ProblemError(400, 'the filters are not valid', { errors });
    // The contract's `active` means every status but closed and failed.
    const matches = (view: SessionView): boolean =>
      (status === undefined || (status === 'active' ? !hasEnded(view.status) : view.status === status)) &&
      (category === undefined || view.category === category) &&
      (project === undefined || view.project === project);
    const views = [...options.views.getState().values()]
      .filter(matches)
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.session_id.localeCompare(b.session_id));
    ctx.body = paginate(views, page);
  });
};

const getSessionRoute = (router: Router, { options }: SessionRouteDeps): void => {
  router.get('/api/sessions/:session_id', async (ctx) => {
    const sessionId = ctx.params['session_id']!;
    await answerView(ctx, {
      what: `session ${sessionId}`,
      current: options.views.get(sessionId),
      eventLog: options.eventLog,
      stream: sessionStream(sessionId),
      evolve: evolveSessionView,
    });
  });
};

const confirmRouteRoute = (router: Router, { clock, run }: SessionRouteDeps): void => {
  router.post('/api/sessions/:session_id/route', async (ctx) => {
    const body = decodeBody(ConfirmRouteBody, ctx);
    await run(ctx, ctx.params['session_id']!, {
      type: 'ConfirmRoute',
      route: body.route,
      confirmedBy: body.confirmed_by ?? commandContextOf(ctx, clock()).actor,
      now: clock(),
    });
  });
};

/** The conversation: sending a message, reading the history, answering the agent's question. */
const conversationRoutes = (router: Router, { options, newId, clock, run }: SessionRouteDeps): void => {
  router.post('/api/sessions/:session_id/messages', async (ctx) => {
    const body = decodeBody(SendMessageBody, ctx);
    const messageId = newId();
    await run(
      ctx,
      ctx.params['session_id']!,
      { type: 'SendMessage', messageId, text: body.text, from: body.from ?? null, now: clock() },
      () => ({ message_id: messageId }),
    );
  });

  router.get('/api/sessions/:session_id/messages', async (ctx) => {
    const page = pageOf(ctx);
    const sessionId = ctx.params['session_id']!;
    if (!options.views.get(sessionId)) throw new ProblemError(404, `no session ${sessionId}`);
    const messages = (await options.eventLog.readStream<SessionEvent>(sessionStream(sessionId))).flatMap((stored) =>
      conversationEntry(stored.event),
    );
    ctx.body = paginate(messages, page);
  });

  router.post('/api/sessions/:session_id/questions/:question_id/answer', async (ctx) => {
    const body = decodeBody(AnswerQuestionBody, ctx);
    const answeredBy = commandContextOf(ctx, clock()).actor;
    await run(ctx, ctx.params['session_id']!, {
      type: 'AnswerQuestion',
      questionId: ctx.params['question_id']!,
      answer: body.answer,
      answeredBy,
      now: clock(),
    });
  });
};

/** Pausing, resuming and closing a session. */
const lifecycleRoutes = (router: Router, { clock, run }: SessionRouteDeps): void => {
  router.post('/api/sessions/:session_id/pause', async (ctx) => {
    await run(ctx, ctx.params['session_id']!, { type: 'PauseSession', now: clock() });
  });

  router.post('/api/sessions/:session_id/resume', async (ctx) => {
    await run(ctx, ctx.params['session_id']!, { type: 'ResumeSession', now: clock() });
  });

  router.post('/api/sessions/:session_id/close', async (ctx) => {
    const body = decodeBody(CloseSessionBody, ctx);
    await run(ctx, ctx.params['session_id']!, {
      type: 'CloseSession',
      reason: body.reason ?? null,
      removeWorkspace: body.remove_workspace ?? false,
      now: clock(),
    });
  });
};

/** The session endpoints of the contract. */
export const sessionRoutes = (options: SessionRoutesOptions): Router => {
  const router = new Router();
  const viewWaitMs = options.viewWaitMs ?? 5000;
  const deps: SessionRouteDeps = {
    options,
    newId: options.newId ?? randomUUID,
    clock: options.clock ?? (() => new Date()),
    run: (ctx, sessionId, command, answer) =>
      runSessionCommand(
        ctx,
        { eventLog: options.eventLog, views: options.views, viewWaitMs },
        sessionId,
        command,
        answer,
      ),
  };

  createSessionRoute(router, deps);
  listSessionsRoute(router, deps);
  getSessionRoute(router, deps);
  confirmRouteRoute(router, deps);
  conversationRoutes(router, deps);
  router.get('/api/sessions/:session_id/events', sessionEventsRoute(options.sse, options.eventLog));
  lifecycleRoutes(router, deps);

  return router;
};
