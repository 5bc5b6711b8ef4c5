import type { Context } from 'koa';
import type { SessionView } from './session-view.js';
import { answerCommand } from '../api/answer-command.js';
import type { EventLog } from '../events/event-log.js';
import type { DocumentProjectionRunner } from '../projections/runner.js';
import { sessionDecider, type SessionCommand } from './decider.js';
import { sessionStream } from './events.js';

export interface SessionCommandDeps {
  readonly eventLog: EventLog;
  readonly views: DocumentProjectionRunner<SessionView>;
  readonly viewWaitMs: number;
}

/** Runs a command on one session and answers as the API does (202 with the view as the command left it, or a problem), whoever asked. */
export const runSessionCommand = (
  ctx: Context,
  deps: SessionCommandDeps,
  sessionId: string,
  command: SessionCommand,
  answer?: (view: SessionView) => unknown,
): Promise<void> =>
  answerCommand(
    ctx,
    {
      eventLog: deps.eventLog,
      stream: sessionStream(sessionId),
      decider: sessionDecider,
      command,
      views: deps.views,
      id: sessionId,
      location: `/api/sessions/${sessionId}`,
      viewWaitMs: deps.viewWaitMs,
    },
    answer,
  );
