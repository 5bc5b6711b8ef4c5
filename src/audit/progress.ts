export interface Progress {
  /** `done` events so far, the last at `position`. */
  update: (done: number, position: number) => void;
  finish: () => void;
}

export interface ProgressOptions {
  readonly label: string;
  /** Progress goes to stderr, so stdout stays the command's answer. */
  readonly out: Pick<NodeJS.WriteStream, 'write'> & { readonly isTTY?: boolean };
  /** The last position of the log when the work began; undefined when the source cannot tell. */
  readonly head: number | undefined;
  /** Without a terminal, a line each time this many more percent are done (default 10). */
  readonly everyPercent?: number;
  /** Without a terminal and without a head, a line each time this many more events are done. */
  readonly everyEvents?: number;
}

const BAR_WIDTH = 30;
const count = (n: number): string => n.toLocaleString('en-US');

/**
 * A progress bar redrawn in place with `\r` on a terminal; elsewhere (CI logs, a file, a test's
 * pipe) a plain line every N percent, so logs stay readable. The fraction is the position reached
 * over the head position: exact for the embedded log (positions count events), close enough for
 * EventStoreDB (positions are byte offsets).
 */
export const progressReporter = (options: ProgressOptions): Progress => {
  const { out, head, label } = options;
  const tty = out.isTTY === true;
  const everyPercent = options.everyPercent ?? 10;
  const everyEvents = options.everyEvents ?? 100_000;
  let nextMark = everyPercent;
  let nextEvents = everyEvents;
  let drawn = false;
  const percentOf = (position: number): number | undefined =>
    head === undefined ? undefined : head < 0 ? 100 : Math.min(100, Math.floor(((position + 1) / (head + 1)) * 100));

  const draw = (done: number, percent: number | undefined): void => {
    if (percent === undefined) {
      out.write(`\r${label}: ${count(done)} events`);
      return;
    }
    const filled = Math.round((percent / 100) * BAR_WIDTH);
    out.write(
      `\r${label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(percent).padStart(3)}% ${count(done)} events`,
    );
  };

  return {
    update: (done, position) => {
      const percent = percentOf(position);
      if (tty) {
        drawn = true;
        return draw(done, percent);
      }
      if (percent === undefined) {
        if (done < nextEvents) return;
        out.write(`${label}: ${count(done)} events\n`);
        while (nextEvents <= done) nextEvents += everyEvents;
        return;
      }
      if (percent < nextMark) return;
      out.write(`${label}: ${percent}% (${count(done)} events)\n`);
      while (nextMark <= percent) nextMark += everyPercent;
    },
    // Ends the line the bar was drawn on; the last drawing already tells where the work stopped.
    finish: () => {
      if (drawn) out.write('\n');
    },
  };
};
