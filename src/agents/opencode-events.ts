/**
 * What one line of OpenCode's event stream means to the bridge. Lines carry no resumable id, so
 * the bridge does not rebuild state from them: an event only says which OpenCode session to
 * reconcile (from its status, messages, todos, questions and permissions), and
 * `server.connected` (every new connection) says to reconcile them all.
 */
export type OpenCodeTrigger =
  { readonly kind: 'connected' } | { readonly kind: 'session'; readonly sessionID: string; readonly why: string };

type Payload = { type?: unknown; properties?: Record<string, unknown> };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The event itself, from `/event` (the payload) or `/global/event` (`{ directory, payload }`). */
const payloadOf = (line: unknown): Payload | undefined => {
  if (!isRecord(line)) return undefined;
  if (isRecord(line['payload'])) return line['payload'];
  return line;
};

const session = (sessionID: unknown, why: string): OpenCodeTrigger | null =>
  typeof sessionID === 'string' && sessionID.startsWith('ses') ? { kind: 'session', sessionID, why } : null;

export const triggerOf = (line: unknown): OpenCodeTrigger | null => {
  const payload = payloadOf(line);
  const properties = payload?.properties ?? {};
  switch (payload?.type) {
    case 'server.connected':
      return { kind: 'connected' };
    case 'message.updated': {
      // Only an assistant message that has finished: its final text or its error is news.
      const info = properties['info'];
      if (!isRecord(info) || info['role'] !== 'assistant') return null;
      const time = info['time'];
      return isRecord(time) && typeof time['completed'] === 'number'
        ? session(info['sessionID'] ?? properties['sessionID'], 'assistant message finished')
        : null;
    }
    case 'message.part.updated': {
      const part = properties['part'];
      if (!isRecord(part) || part['type'] !== 'tool') return null;
      const state = part['state'];
      return isRecord(state) && (state['status'] === 'completed' || state['status'] === 'error')
        ? session(part['sessionID'], `tool ${String(part['tool'])} ${state['status']}`)
        : null;
    }
    case 'todo.updated':
      return session(properties['sessionID'], 'todo list changed');
    case 'question.asked':
    case 'question.replied':
    case 'question.rejected':
      return session(properties['sessionID'], payload.type);
    case 'permission.asked':
      return session(properties['sessionID'], 'permission asked');
    case 'session.status': {
      const status = properties['status'];
      return session(properties['sessionID'], `status ${isRecord(status) ? String(status['type']) : '?'}`);
    }
    case 'session.idle':
    case 'session.error':
      return session(properties['sessionID'], payload.type);
    default:
      return null;
  }
};
