import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import * as E from 'fp-ts/lib/Either.js';
import type { Context } from 'koa';
import { evolveDeploymentView, type DeploymentView } from './deployment-view.js';
import type { SessionView } from '../sessions/session-view.js';
import { answerView } from '../api/as-of.js';
import { ProblemError } from '../api/problem.js';
import type { SseHub } from '../api/sse.js';
import { commandContextOf } from '../api/state.js';
import { decodeBody, pageOf, paginate, setETag } from '../api/validation.js';
import type { EventLog } from '../events/event-log.js';
import type { DocumentProjectionRunner } from '../projections/runner.js';
import { InvalidNameError } from '../workspaces/names.js';
import { hasEnded } from '../sessions/status.js';
import { isDeploymentStatus } from './status.js';
import type { DeploymentCommand } from './decider.js';
import { deploymentStream, type DeploymentEvent } from './events.js';
import { planDeployment } from './plan.js';
import { runDeploymentCommand } from './run-command.js';
import { deploymentProgressRoute } from './progress-sse.js';
import { CommitFilesCache } from './commit-files-cache.js';
import { PlantedProgramError, snapshotWorktree } from '../workspaces/snapshot.js';
import { sessionWorktree } from './deployment-context.js';
import { ForeignWorktreeError } from '../shared/git.js';
import { ConfirmDeploymentBody, CreateDeploymentBody, RejectDeploymentBody } from './request-codecs.js';

export interface DeploymentRoutesOptions {
  readonly eventLog: EventLog;
  readonly views: DocumentProjectionRunner<DeploymentView>;
  readonly sessions: DocumentProjectionRunner<SessionView>;
  readonly ingressDomain: string;
  readonly maxConfigMapSize: number;
  /** Seconds a plan waits for a person's answer. */
  readonly confirmationTimeout: number;
  /** Serves GET /api/deployments/{id}/progress. */
  readonly sse: SseHub;
  /** What a client sees of a view now (a deleted lab has no URL any more). */
  readonly present?: (view: DeploymentView) => DeploymentView;
  readonly newId?: () => string;
  readonly clock?: () => Date;
  readonly viewWaitMs?: number;
  /** Throws (a 503 problem) while there is no room to start new work; absent: always room. */
  readonly admitNewWork?: () => Promise<void>;
  /** A commit's files, read once and shared with the executor's steps (default: a cache of the routes' own). */
  readonly commitFiles?: CommitFilesCache;
}

/** The repository and commit to deploy: the session's worktree of the named (or first) repo, at its branch's head. */
const targetOf = async (
  deps: Pick<DeploymentRouteDeps, 'commitFiles' | 'eventLog'>,
  session: SessionView,
  body: { repo?: string; branch?: string },
) => {
  const repo =
    body.repo === undefined ? session.repos[0] : session.repos.find((candidate) => candidate.name === body.repo);
  if (!repo)
    throw new ProblemError(400, `session ${session.session_id} has no repo ${body.repo}`, {
      errors: [{ path: 'repo', message: `expected one of ${session.repos.map((r) => r.name).join(', ')}` }],
    });
  if (!repo.worktree_path || !repo.branch)
    throw new ProblemError(409, `the workspace of repo ${repo.name} is not ready (the session is ${session.status})`);
  const branch = body.branch ?? repo.branch;
  let worktree;
  try {
    worktree = await sessionWorktree(deps.eventLog, session.session_id, repo.name);
    // The builder branch is the agent's: what it wrote but did not commit is part of what a person wants deployed.
    if (branch === repo.branch)
      await snapshotWorktree(worktree, `Snapshot of the agent's work for a deployment (session ${session.session_id})`);
  } catch (error) {
    // A worktree the gateway will not run git in (its .git replaced, a program planted in its configuration).
    if (error instanceof ForeignWorktreeError || error instanceof PlantedProgramError)
      throw new ProblemError(409, error.message);
    throw error;
  }
  try {
    const { commit, files } = await deps.commitFiles.read(worktree.gitDir, branch);
    return { repo: repo.name, branch, commit, files };
  } catch (error) {
    if (body.branch !== undefined) {
      const message = error instanceof InvalidNameError ? error.message : `no branch ${branch} in repo ${repo.name}`;
      throw new ProblemError(400, `branch ${JSON.stringify(branch)} cannot be deployed`, {
        errors: [{ path: 'branch', message }],
      });
    }
    throw error;
  }
};

/** What every route shares: the options, with their defaults filled in. */
interface DeploymentRouteDeps extends DeploymentRoutesOptions {
  readonly commitFiles: CommitFilesCache;
  readonly newId: () => string;
  readonly clock: () => Date;
  readonly viewWaitMs: number;
  readonly present: (view: DeploymentView) => DeploymentView;
}

/** Runs a command on one deployment and answers with its view (202) or a problem. */
const run = (
  deps: DeploymentRouteDeps,
  ctx: Context,
  deploymentId: string,
  command: DeploymentCommand,
): Promise<void> =>
  runDeploymentCommand(
    ctx,
    { eventLog: deps.eventLog, views: deps.views, present: deps.present, viewWaitMs: deps.viewWaitMs },
    deploymentId,
    command,
  );

/** POST /api/deployments: plans the session's branch and asks a person to confirm it. */
const addCreateRoute = (router: Router, deps: DeploymentRouteDeps): void => {
  router.post('/api/deployments', async (ctx) => {
    const body = decodeBody(CreateDeploymentBody, ctx);
    await deps.admitNewWork?.();
    const session = deps.sessions.get(body.session_id);
    if (!session) throw new ProblemError(404, `no session ${body.session_id}`);
    if (hasEnded(session.status))
      throw new ProblemError(409, `a ${session.status} session cannot deploy (the session is ${session.status})`);
    const target = await targetOf(deps, session, body);
    const planned = planDeployment({
      project: session.project,
      files: target.files,
      ingressDomain: deps.ingressDomain,
      maxConfigMapSize: deps.maxConfigMapSize,
    });
    if (E.isLeft(planned))
      throw new ProblemError(409, `${target.repo} at ${target.branch} cannot be deployed: ${planned.left}`);
    const deploymentId = deps.newId();
    await run(deps, ctx, deploymentId, {
      type: 'RequestDeployment',
      deploymentId,
      sessionId: session.session_id,
      branch: target.branch,
      repo: target.repo,
      commit: target.commit,
      plan: planned.right.plan,
      confirmationTimeout: deps.confirmationTimeout,
      now: deps.clock(),
    });
  });
};

/** GET /api/deployments, one deployment (now or as of a past moment) and its test results. */
const addReadRoutes = (router: Router, deps: DeploymentRouteDeps): void => {
  router.get('/api/deployments', (ctx) => {
    const page = pageOf(ctx);
    const { session_id: sessionId, status } = ctx.query;
    const errors = [
      ...(status !== undefined && !isDeploymentStatus(status)
        ? [{ path: 'query.status', message: 'expected a deployment status' }]
        : []),
      ...(sessionId !== undefined && typeof sessionId !== 'string'
        ? [{ path: 'query.session_id', message: 'expected one session id' }]
        : []),
    ];
    if (errors.length > 0) throw new ProblemError(400, 'the filters are not valid', { errors });
    const views = [...deps.views.getState().values()]
      .filter(
        (view) =>
          (sessionId === undefined || view.session_id === sessionId) &&
          (status === undefined || view.status === status),
      )
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.deployment_id.localeCompare(b.deployment_id));
    ctx.body = paginate(views.map(deps.present), page);
  });

  router.get('/api/deployments/:deployment_id', async (ctx) => {
    const deploymentId = ctx.params['deployment_id']!;
    await answerView<DeploymentView, DeploymentEvent>(ctx, {
      what: `deployment ${deploymentId}`,
      current: deps.views.get(deploymentId),
      eventLog: deps.eventLog,
      stream: deploymentStream(deploymentId),
      evolve: evolveDeploymentView,
      present: deps.present,
    });
  });

  router.get('/api/deployments/:deployment_id/tests', (ctx) => {
    const deploymentId = ctx.params['deployment_id']!;
    const view = deps.views.get(deploymentId);
    if (!view) throw new ProblemError(404, `no deployment ${deploymentId}`);
    if (!view.tests)
      throw new ProblemError(404, `deployment ${deploymentId} has no test results yet (it is ${view.status})`);
    setETag(ctx, view.revision);
    ctx.body = view.tests;
  });
};

/** POST /api/deployments/{id}/tests/rerun: the tests again, against the lab as it is. */
const addRerunRoute = (router: Router, deps: DeploymentRouteDeps): void => {
  router.post('/api/deployments/:deployment_id/tests/rerun', async (ctx) => {
    await run(deps, ctx, ctx.params['deployment_id']!, {
      type: 'RequestTestsRerun',
      runId: deps.newId(),
      requestedBy: commandContextOf(ctx, deps.clock()).actor,
      now: deps.clock(),
    });
  });
};

/** A person's answer to a plan: POST /api/deployments/{id}/confirm or /reject. */
const addAnswerRoutes = (router: Router, deps: DeploymentRouteDeps): void => {
  router.post('/api/deployments/:deployment_id/confirm', async (ctx) => {
    const body = decodeBody(ConfirmDeploymentBody, ctx);
    await run(deps, ctx, ctx.params['deployment_id']!, {
      type: 'ConfirmDeployment',
      confirmedBy: body.confirmed_by ?? commandContextOf(ctx, deps.clock()).actor,
      now: deps.clock(),
    });
  });

  router.post('/api/deployments/:deployment_id/reject', async (ctx) => {
    const body = decodeBody(RejectDeploymentBody, ctx);
    await run(deps, ctx, ctx.params['deployment_id']!, {
      type: 'RejectDeployment',
      rejectedBy: commandContextOf(ctx, deps.clock()).actor,
      reason: body.reason ?? null,
      now: deps.clock(),
    });
  });
};

/** The contract's deployment endpoints: plan and ask, confirm or reject, read and list. */
export const deploymentRoutes = (options: DeploymentRoutesOptions): Router => {
  const deps: DeploymentRouteDeps = {
    ...options,
    commitFiles: options.commitFiles ?? new CommitFilesCache(),
    newId: options.newId ?? randomUUID,
    clock: options.clock ?? (() => new Date()),
    viewWaitMs: options.viewWaitMs ?? 5000,
    present: options.present ?? ((view: DeploymentView) => view),
  };
  const router = new Router();
  addCreateRoute(router, deps);
  addReadRoutes(router, deps);
  addRerunRoute(router, deps);
  router.get('/api/deployments/:deployment_id/progress', deploymentProgressRoute(deps.sse, deps.eventLog));
  addAnswerRoutes(router, deps);
  return router;
};
