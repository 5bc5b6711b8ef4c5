import * as E from 'fp-ts/lib/Either.js';
import type { Logger } from 'pino';
import { handleCommand } from '../commands/handle-command.js';
import type { EventLog } from '../events/event-log.js';
import { untilAborted } from '../events/until-aborted.js';
import { sleep } from '../shared/sleep.js';
import { loadAgentSession } from './agent-session.js';
import { must, openCodeClient } from './opencode-client.js';
import { triggerOf } from './opencode-events.js';
import type { OpenCodeEndpoint } from './opencode-server.js';
import { sessionDecider } from '../sessions/decider.js';
import { sessionStream } from '../sessions/events.js';
import { planReconcile, type BridgePolicy, type OpenCodeSnapshot, type PlannedCommand } from './reconcile.js';

export interface AgentReconcilerOptions {
  readonly eventLog: EventLog;
  readonly endpoint: () => OpenCodeEndpoint | undefined;
  /** Gateway session ids by OpenCode session id, and every session with a running agent. */
  readonly sessionOf: (opencodeSessionId: string) => string | undefined;
  readonly liveSessions: () => readonly string[];
  readonly policy: BridgePolicy;
  readonly logger: Logger;
  readonly clock?: () => Date;
}

/** Records one of the reconciler's commands on a session through its decider; a refusal (the session moved on) is logged, not thrown. */
const recordOnSession = async (
  options: Pick<AgentReconcilerOptions, 'eventLog' | 'logger' | 'clock'>,
  sessionId: string,
  command: PlannedCommand,
  context: { correlationId: string; causationId: string },
): Promise<void> => {
  const now = (options.clock ?? (() => new Date()))();
  const result = await handleCommand(
    options.eventLog,
    sessionStream(sessionId),
    sessionDecider,
    { ...command, now },
    { actor: 'pm:agents', ...context, now },
  );
  if (E.isLeft(result))
    options.logger.debug(
      { session_id: sessionId, command: command.type, refusal: result.left },
      'the session refused a bridge record',
    );
};

/**
 * Keeps each session's stream in step with what OpenCode says. One subscription to OpenCode's
 * global event stream says which session changed; the session is then reconciled from
 * OpenCode's HTTP state, which is also what happens for every session on each (re)connection:
 * after a gateway or OpenCode restart nothing is lost, and the plan leaves out what is
 * recorded already, so nothing is recorded twice.
 */
export class AgentReconciler {
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  /** Per session: the reconciliation running now, and whether another must follow it. */
  private readonly pending = new Map<string, { running: Promise<void>; again: boolean }>();

  constructor(private readonly options: AgentReconcilerOptions) {}

  start(): void {
    this.loop ??= this.listen(this.controller.signal);
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.loop;
    await Promise.all([...this.pending.values()].map((entry) => entry.running));
  }

  /** Reconciles a session soon; calls while one runs coalesce into one more run. */
  reconcile(sessionId: string): void {
    if (this.controller.signal.aborted) return;
    const entry = this.pending.get(sessionId);
    if (entry) {
      entry.again = true;
      return;
    }
    const run = async (): Promise<void> => {
      do {
        const current = this.pending.get(sessionId)!;
        current.again = false;
        try {
          await this.reconcileNow(sessionId);
        } catch (error) {
          this.options.logger.warn(
            { err: error, session_id: sessionId },
            'agent reconciliation failed; it runs again on the next event',
          );
        }
      } while (this.pending.get(sessionId)?.again && !this.controller.signal.aborted);
      this.pending.delete(sessionId);
    };
    const created = { running: Promise.resolve(), again: false };
    this.pending.set(sessionId, created);
    created.running = run();
  }

  /** Resolves when no reconciliation is running or queued (tests and benchmarks wait on it). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()].map((entry) => entry.running));
  }

  private async listen(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const endpoint = this.options.endpoint();
      if (!endpoint) {
        await sleep(200, signal).catch(() => undefined);
        continue;
      }
      try {
        // No retries inside the SDK: after a restart the server has another port and password.
        const { stream } = await openCodeClient(endpoint).global.event({ signal, sseMaxRetryAttempts: 1 });
        // The SDK's stream does not end on its own when the signal aborts: stopping must not wait for it.
        signal.addEventListener('abort', () => void stream.return(undefined).catch(() => undefined), { once: true });
        for await (const line of untilAborted(stream, signal)) {
          const trigger = triggerOf(line);
          if (trigger?.kind === 'connected')
            for (const sessionId of this.options.liveSessions()) this.reconcile(sessionId);
          if (trigger?.kind === 'session') {
            const sessionId = this.options.sessionOf(trigger.sessionID);
            if (sessionId) this.reconcile(sessionId);
          }
        }
      } catch (error) {
        if (!signal.aborted) this.options.logger.debug({ err: error }, 'OpenCode event stream ended; reconnecting');
      }
      await sleep(200, signal).catch(() => undefined);
    }
  }

  private async reconcileNow(sessionId: string): Promise<void> {
    const session = await loadAgentSession(this.options.eventLog, sessionId);
    const { state, directory } = session;
    if (state.status === 'none' || state.agentSessionId === null || !directory) return;
    const sessionID = state.agentSessionId;
    const endpoint = this.options.endpoint();
    const client = openCodeClient(endpoint);
    const [messages, todos, questions, permissions, statuses] = await Promise.all([
      must(client.session.messages({ sessionID, directory }), 'session.messages'),
      must(client.session.todo({ sessionID, directory }), 'session.todo'),
      must(client.question.list({ directory }), 'question.list'),
      must(client.permission.list({ directory }), 'permission.list'),
      must(client.session.status({ directory }), 'session.status'),
    ]);
    const snapshot: OpenCodeSnapshot = {
      messages,
      todos,
      questions: questions.filter((question) => question.sessionID === sessionID),
      permissions: permissions.filter((permission) => permission.sessionID === sessionID),
      status: statuses[sessionID],
    };
    const plan = planReconcile(
      snapshot,
      { recorded: state.recorded, directory, serverStartedAt: endpoint?.startedAt ?? 0 },
      this.options.policy,
    );
    for (const { id, reply } of plan.permissionReplies)
      await must(client.permission.reply({ requestID: id, directory, reply }), 'permission.reply');
    if (plan.abort) await must(client.session.abort({ sessionID, directory }), 'session.abort');
    for (const command of plan.commands) {
      await recordOnSession(this.options, sessionId, command, {
        correlationId: session.correlationId,
        causationId: `opencode:${sessionID}`,
      });
    }
  }
}
