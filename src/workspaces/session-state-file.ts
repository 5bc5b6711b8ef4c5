import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { refuseLinkedFolder } from '../files/planted-link.js';
import { replaceFileDurably } from '../files/replace-file.js';
import { evolveSessionView, type SessionView } from '../sessions/session-view.js';
import type { EventLog } from '../events/event-log.js';
import type { SessionEvent } from '../sessions/events.js';
import { sessionStream } from '../sessions/events.js';

const SESSION_STATE_FILE = '.session-state.yaml';
export const ARCH_DECISIONS_FILE = 'arch-decisions.md';

/** The template the architect persona fills; written once, never overwritten. */
export const archDecisionsTemplate = (builder: string): string => `# Architecture decisions — ${builder}

Record each decision as it is made: what was decided, why, and what it costs.

## ADR-001: <title>
- Status: proposed | accepted | superseded
- Context:
- Decision:
- Consequences:
`;

/**
 * Rewrites `<workspace>/.session-state.yaml` from the session's events: a view for the agent and
 * for people in the workspace, never the source of truth. Replaced whole and durably, so a reader
 * (or the file after a crash or a full disk) never holds half of it; skipped when the workspace is gone,
 * and, given the revision it is written for, when the session has moved on since.
 */
export const writeSessionState = async (
  eventLog: EventLog,
  sessionId: string,
  options: { readonly asOfRevision?: number } = {},
): Promise<void> => {
  const history = await eventLog.readStream<SessionEvent>(sessionStream(sessionId));
  // A later event's own rewrite is queued behind this one: writing now would be overwritten at once.
  if (options.asOfRevision !== undefined && (history.at(-1)?.revision ?? -1) > options.asOfRevision) return;
  let view: SessionView | undefined;
  for (const stored of history) view = evolveSessionView(view, stored);
  if (!view?.workspace_path || !existsSync(view.workspace_path)) return;
  await refuseLinkedFolder(view.workspace_path);
  await replaceFileDurably(
    join(view.workspace_path, SESSION_STATE_FILE),
    `# Written by the gateway from the session's events; edits are overwritten.\n${stringify(view)}`,
  );
};
