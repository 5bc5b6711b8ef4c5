import type { RecordedEvent } from '../eventstore/port.js';
import type { EventRegistry } from '../events/registry.js';
import { shownData } from './audit-event.js';
import { pagesOf, type AuditSource } from './source.js';
import { summarize } from './summary.js';

export interface TimelineEntry {
  readonly position: number;
  readonly time: string;
  readonly stream: string;
  readonly actor: string;
  /** The event type and what it says. */
  readonly summary: string;
}

const entryOf = (registry: EventRegistry, event: RecordedEvent): TimelineEntry => {
  let summary: string;
  try {
    summary = summarize({ type: event.type, data: registry.decode(event.type, shownData(event.data).data) });
  } catch (error) {
    // A story is still told when one record cannot be read: the line says why.
    summary = `${event.type} (cannot be read: ${(error as Error).message})`;
  }
  const text = (key: string): string => (typeof event.metadata[key] === 'string' ? event.metadata[key] : '?');
  return { position: event.position, time: text('recorded_at'), stream: event.stream, actor: text('actor'), summary };
};

/**
 * Every event of one correlation id (one Slack request's whole story: the command's events and
 * what process managers did because of them), in log order. Nothing indexes the log by
 * correlation id, so this reads it all, a page at a time.
 */
export const storyOf = async (
  source: AuditSource,
  registry: EventRegistry,
  correlationId: string,
  options: { readonly onProgress?: (read: number, position: number) => void } = {},
): Promise<TimelineEntry[]> => {
  const story: TimelineEntry[] = [];
  let read = 0;
  for await (const page of pagesOf(source)) {
    for (const event of page)
      if (event.metadata['correlation_id'] === correlationId) story.push(entryOf(registry, event));
    read += page.length;
    options.onProgress?.(read, page[page.length - 1]!.position);
  }
  return story;
};

/** A heading and one aligned line per event: time, stream, actor, summary. */
export const formatTimeline = (correlationId: string, story: readonly TimelineEntry[]): string[] => {
  const streams = new Set(story.map((entry) => entry.stream));
  const heading = `correlation ${correlationId}: ${story.length} event${story.length === 1 ? '' : 's'} in ${streams.size} stream${streams.size === 1 ? '' : 's'}, ${story[0]?.time ?? '-'} to ${story[story.length - 1]?.time ?? '-'}`;
  const width = (pick: (entry: TimelineEntry) => string): number =>
    Math.max(0, ...story.map((entry) => pick(entry).length));
  const streamWidth = width((entry) => entry.stream);
  const actorWidth = width((entry) => entry.actor);
  return [
    heading,
    ...story.map(
      (entry) =>
        `${entry.time}  ${entry.stream.padEnd(streamWidth)}  ${entry.actor.padEnd(actorWidth)}  ${entry.summary}`,
    ),
  ];
};
