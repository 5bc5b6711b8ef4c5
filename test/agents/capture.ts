import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Message, Part, PermissionRequest, QuestionRequest, Todo } from '@opencode-ai/sdk/v2';
import type { OpenCodeSnapshot } from '../../src/agents/reconcile.js';

/** The `data:` lines of a captured OpenCode event stream (test/agents/captures, from the OpenCode notes). */
export const readCapture = (name: string): unknown[] =>
  readFileSync(join(process.cwd(), 'test', 'agents', 'captures', name), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice('data: '.length)) as unknown);

type Payload = { type: string; properties: Record<string, any> };

/**
 * What OpenCode's HTTP routes would have answered at the end of a capture, folded from its
 * events: the last version of each message and part, the todo list, and the questions and
 * permissions still pending.
 */
export const snapshotOf = (
  lines: readonly unknown[],
  status: OpenCodeSnapshot['status'] = undefined,
): OpenCodeSnapshot => {
  const infos = new Map<string, Message>();
  const parts = new Map<string, Part>();
  let todos: Todo[] = [];
  const questions = new Map<string, QuestionRequest>();
  const permissions = new Map<string, PermissionRequest>();
  for (const line of lines as Payload[]) {
    const p = line.properties;
    if (line.type === 'message.updated') infos.set(p['info'].id, p['info']);
    if (line.type === 'message.part.updated') parts.set(p['part'].id, p['part']);
    if (line.type === 'todo.updated') todos = p['todos'];
    if (line.type === 'question.asked') questions.set(p['id'], p as QuestionRequest);
    if (line.type === 'question.replied' || line.type === 'question.rejected') questions.delete(p['requestID']);
    if (line.type === 'permission.asked') permissions.set(p['id'], p as PermissionRequest);
    if (line.type === 'permission.replied') permissions.delete(p['requestID'] ?? p['permissionID']);
  }
  const messages = [...infos.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((info) => ({ info, parts: [...parts.values()].filter((part) => part.messageID === info.id) }));
  return { messages, todos, questions: [...questions.values()], permissions: [...permissions.values()], status };
};
