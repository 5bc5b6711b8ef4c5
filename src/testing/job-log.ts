/** What a test Job's log says once its script has run: the suite's output, its JUnit report, its exit code. */
export interface JobReport {
  /** Everything the suite printed, before the script's own reports. */
  readonly output: string;
  /** The JUnit report the runner wrote, when it wrote one. */
  readonly junit?: string;
  /** The command's exit code, as the script printed it. */
  readonly exitCode?: number;
  /** The dependencies could not be installed: the command never ran. */
  readonly installFailed: boolean;
}

/**
 * Reads the reports the test script prints after its command (`<marker> junit`, the report, then
 * `<marker> exit <code>`; or `<marker> install-failed`). Only lines that are exactly a marker line
 * count; a log without them (the pod stopped first) is all output.
 */
export const readJobLog = (log: string, marker: string): JobReport => {
  const lines = log.split('\n');
  const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
  const escaped = marker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const junitAt = at(new RegExp(`^${escaped} junit$`));
  const exitAt = at(new RegExp(`^${escaped} exit \\d+$`));
  const installAt = at(new RegExp(`^${escaped} install-failed$`));
  const firstReport = [junitAt, exitAt, installAt].filter((index) => index >= 0).sort((a, b) => a - b)[0];
  const output = lines
    .slice(0, firstReport ?? lines.length)
    .join('\n')
    .replace(/\n+$/, '');
  const junit =
    junitAt >= 0
      ? lines
          .slice(junitAt + 1, exitAt > junitAt ? exitAt : lines.length)
          .join('\n')
          .trim()
      : undefined;
  const exitCode = exitAt >= 0 ? Number(lines[exitAt]!.slice(marker.length + ' exit '.length)) : undefined;
  return {
    output,
    ...(junit ? { junit } : {}),
    ...(exitCode === undefined ? {} : { exitCode }),
    installFailed: installAt >= 0,
  };
};
