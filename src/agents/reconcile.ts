import { createHash } from 'node:crypto';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Message, Part, PermissionRequest, QuestionRequest, SessionStatus, Todo } from '@opencode-ai/sdk/v2';
import type { SessionCommand } from '../sessions/decider.js';

/** What OpenCode says about one of its sessions right now. */
export interface OpenCodeSnapshot {
  readonly messages: readonly { readonly info: Message; readonly parts: readonly Part[] }[];
  readonly todos: readonly Todo[];
  /** Pending questions and permission requests of this session. */
  readonly questions: readonly QuestionRequest[];
  readonly permissions: readonly PermissionRequest[];
  /** Absent when the session is idle. */
  readonly status: SessionStatus | undefined;
}

export interface BridgeFacts {
  readonly recorded: ReadonlySet<string>;
  /** When the OpenCode server now running started (ms): a reply begun before it can never finish. */
  readonly serverStartedAt: number;
  /** The session's workspace: the permission policy's boundary. */
  readonly directory: string;
}

export interface BridgePolicy {
  readonly permissions: 'workspace' | 'allow' | 'reject';
  readonly maxProviderRetries: number;
}

/** Commands without their time; the runner stamps them. */
export type PlannedCommand = SessionCommand extends infer C
  ? C extends { now: Date }
    ? Omit<C, 'now'>
    : never
  : never;

export interface ReconcilePlan {
  readonly commands: readonly PlannedCommand[];
  readonly permissionReplies: readonly { readonly id: string; readonly reply: 'once' | 'reject' }[];
  /** The provider stayed unreachable past the limit: abort the turn. */
  readonly abort: boolean;
}

const TOOL_VERBS: Record<string, string> = {
  write: 'Wrote',
  edit: 'Edited',
  read: 'Read',
  bash: 'Ran',
  glob: 'Searched files',
  grep: 'Searched code',
  webfetch: 'Fetched',
  todowrite: 'Updated the plan',
};

const summarizeTool = (part: Extract<Part, { type: 'tool' }>): { summary: string; files: string[] } => {
  const state = part.state;
  const input = 'input' in state && state.input ? (state.input as Record<string, unknown>) : {};
  const file = typeof input['filePath'] === 'string' ? input['filePath'] : undefined;
  const title = 'title' in state && typeof state.title === 'string' ? state.title : '';
  const subject =
    part.tool === 'bash' && typeof input['command'] === 'string' ? `\`${input['command']}\`` : (file ?? title);
  if (state.status === 'error')
    return { summary: `${part.tool} failed${subject ? ` on ${subject}` : ''}: ${state.error}`, files: [] };
  return {
    summary: `${TOOL_VERBS[part.tool] ?? `Used ${part.tool}`}${subject ? ` ${subject}` : ''}`,
    files: (part.tool === 'write' || part.tool === 'edit') && file ? [file] : [],
  };
};

const todoSummary = (todos: readonly Todo[]): string => {
  const done = todos.filter((todo) => todo.status === 'completed').length;
  const current = todos.find((todo) => todo.status === 'in_progress');
  return `${done} of ${todos.length} done${current ? `; now: ${current.content}` : ''}`;
};

const errorText = (error: NonNullable<Extract<Message, { role: 'assistant' }>['error']>): string => {
  const data = (error as { data?: { message?: unknown } }).data;
  return typeof data?.message === 'string' ? data.message : error.name;
};

/** Whether a permission's patterns stay inside the workspace (paths are resolved from it; commands are not paths). */
const insideWorkspace = (request: PermissionRequest, directory: string): boolean => {
  if (request.permission === 'external_directory') return false;
  return request.patterns.every((pattern) => {
    if (!isAbsolute(pattern) && !pattern.startsWith('..') && !pattern.startsWith('~')) return true;
    const path = relative(directory, resolve(directory, pattern));
    return path !== '' && !path.startsWith('..') && !isAbsolute(path);
  });
};

/** Whether a key is not recorded yet: anything recorded already is left out of the plan. */
type Fresh = (key: string) => boolean;

/** The assistant's reply OpenCode has begun and not finished. */
interface RunningReply {
  readonly id: string;
  readonly created: number;
}

/** An assistant message's finished tool calls, as progress (questions and the todo list are recorded on their own). */
const toolProgress = (parts: readonly Part[], fresh: Fresh): PlannedCommand[] => {
  const commands: PlannedCommand[] = [];
  for (const part of parts) {
    if (
      part.type !== 'tool' ||
      (part.state.status !== 'completed' && part.state.status !== 'error') ||
      part.tool === 'question' ||
      part.tool === 'todowrite'
    )
      continue;
    if (!fresh(`progress:tool:${part.id}`)) continue;
    commands.push({ type: 'RecordProgress', progressId: `tool:${part.id}`, todos: null, ...summarizeTool(part) });
  }
  return commands;
};

/** What the assistant's messages say: tool activity, failed turns and finished replies; and the reply still running. */
const planMessages = (
  messages: OpenCodeSnapshot['messages'],
  fresh: Fresh,
): { commands: PlannedCommand[]; running: RunningReply | undefined } => {
  const commands: PlannedCommand[] = [];
  let running: RunningReply | undefined;
  for (const { info, parts } of messages) {
    if (info.role !== 'assistant') continue;
    commands.push(...toolProgress(parts, fresh));
    if (info.error) {
      if (fresh(`failure:${info.id}`))
        commands.push({
          type: 'RecordTurnFailed',
          messageId: info.id,
          error: info.error.name,
          message: errorText(info.error),
        });
      continue;
    }
    if (info.time.completed === undefined) {
      running = { id: info.id, created: info.time.created };
      continue;
    }
    if (info.finish === 'tool-calls') continue;
    const text = parts
      .flatMap((part) => (part.type === 'text' && !part.synthetic && !part.ignored ? [part.text] : []))
      .join('\n')
      .trim();
    if (text !== '' && fresh(`reply:${info.id}`)) commands.push({ type: 'RecordAgentReply', messageId: info.id, text });
  }
  return { commands, running };
};

/** The todo list as progress, once per version of the list. */
const todoProgress = (todos: readonly Todo[], fresh: Fresh): PlannedCommand[] => {
  if (todos.length === 0) return [];
  const progressId = `todo:${createHash('sha256').update(JSON.stringify(todos)).digest('hex').slice(0, 16)}`;
  if (!fresh(`progress:${progressId}`)) return [];
  return [
    {
      type: 'RecordProgress',
      progressId,
      summary: todoSummary(todos),
      todos: todos.map(({ content, status, priority }) => ({ content, status, priority })),
      files: [],
    },
  ];
};

const askQuestions = (questions: readonly QuestionRequest[], fresh: Fresh): PlannedCommand[] => {
  const commands: PlannedCommand[] = [];
  for (const question of questions) {
    if (!fresh(`question:${question.id}`)) continue;
    const options = question.questions.flatMap((info) => info.options.map((option) => option.label));
    commands.push({
      type: 'AskQuestion',
      questionId: question.id,
      text: question.questions.map((info) => info.question).join('\n'),
      options,
    });
  }
  return commands;
};

/** The policy's answer to each new permission request, and the decision recorded with its reason. */
const decidePermissions = (
  permissions: readonly PermissionRequest[],
  directory: string,
  policy: BridgePolicy,
  fresh: Fresh,
): { commands: PlannedCommand[]; replies: { id: string; reply: 'once' | 'reject' }[] } => {
  const commands: PlannedCommand[] = [];
  const replies: { id: string; reply: 'once' | 'reject' }[] = [];
  for (const request of permissions) {
    if (!fresh(`permission:${request.id}`)) continue;
    const allowed =
      policy.permissions === 'allow' || (policy.permissions === 'workspace' && insideWorkspace(request, directory));
    const reason =
      policy.permissions === 'workspace'
        ? allowed
          ? 'inside the workspace'
          : 'outside the workspace'
        : `policy ${policy.permissions}`;
    replies.push({ id: request.id, reply: allowed ? 'once' : 'reject' });
    commands.push({
      type: 'RecordPermissionDecision',
      permissionId: request.id,
      permission: request.permission,
      patterns: [...request.patterns],
      reply: allowed ? 'once' : 'reject',
      reason,
    });
  }
  return { commands, replies };
};

/**
 * Whether the agent works, and whether its running reply will never finish: the provider stayed
 * unreachable past the limit (abort the turn), or the server that began it has died since.
 */
const planTurnStatus = (
  snapshot: OpenCodeSnapshot,
  running: RunningReply | undefined,
  facts: BridgeFacts,
  policy: BridgePolicy,
  fresh: Fresh,
): { commands: PlannedCommand[]; abort: boolean } => {
  const commands: PlannedCommand[] = [];
  const status = snapshot.status;
  const abort = status?.type === 'retry' && status.attempt > policy.maxProviderRetries;
  if (abort && running && fresh(`failure:${running.id}`)) {
    commands.push({
      type: 'RecordTurnFailed',
      messageId: running.id,
      error: 'ProviderUnreachable',
      message: `the model provider failed ${status.attempt} times: ${status.message}`,
    });
  }
  // A reply begun by an OpenCode server that has died since (a restart mid-turn) will never finish.
  if (
    !abort &&
    running &&
    running.created < facts.serverStartedAt &&
    (status === undefined || status.type === 'idle') &&
    fresh(`failure:${running.id}`)
  ) {
    commands.push({
      type: 'RecordTurnFailed',
      messageId: running.id,
      error: 'Interrupted',
      message: 'the turn stopped before it finished (the OpenCode server was restarted); send the message again',
    });
  }
  // A prompt OpenCode has not picked up yet (its user message is the last one) is work too.
  const queued = snapshot.messages.at(-1)?.info.role === 'user';
  const idle = abort || ((status === undefined || status.type === 'idle') && !queued);
  commands.push({ type: 'RecordAgentStatus', agentStatus: idle ? 'idle' : 'working' });
  return { commands, abort };
};

/**
 * What the bridge must record so the session's stream says what OpenCode says: finished replies,
 * failed turns, tool activity and the todo list as progress, pending questions, permission
 * decisions, and whether the agent works. Pure: the same snapshot and facts give the same plan,
 * and anything recorded already is left out, so running it twice records nothing twice.
 */
export const planReconcile = (snapshot: OpenCodeSnapshot, facts: BridgeFacts, policy: BridgePolicy): ReconcilePlan => {
  const fresh: Fresh = (key) => !facts.recorded.has(key);
  const messages = planMessages(snapshot.messages, fresh);
  const permissions = decidePermissions(snapshot.permissions, facts.directory, policy, fresh);
  const turn = planTurnStatus(snapshot, messages.running, facts, policy, fresh);
  return {
    commands: [
      ...messages.commands,
      ...todoProgress(snapshot.todos, fresh),
      ...askQuestions(snapshot.questions, fresh),
      ...permissions.commands,
      ...turn.commands,
    ],
    permissionReplies: permissions.replies,
    abort: turn.abort,
  };
};
