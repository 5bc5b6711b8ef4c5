import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { EventLogCorruptedError } from '../eventstore/port.js';
import type { EventRegistry } from '../events/registry.js';
import { exportEvents } from './export.js';
import { GatewayRequestError } from './http-source.js';
import { CliError, openAuditSource, type OpenedSource } from './open-source.js';
import { progressReporter } from './progress.js';
import { rebuildProjections, UndecodableEventError } from './rebuild.js';
import { formatTimeline, storyOf } from './timeline.js';
import { verifyLog } from './verify.js';

const USAGE = `usage: gateway <command> [source] [options]

commands:
  replay <correlation_id>   one correlation id's whole story as a timeline, in log order
  replay --rebuild          rebuild every projection from the whole log (also: gateway rebuild)
  verify [--json]           recompute every stream's hash chain; exit 0 if intact, 1 if not
  export [--from <position>] [--stream <name>]
                            events as JSON lines on stdout (the audit API's item shape)

source (default: the embedded log of $GATEWAY_DATA_DIR or ./.gateway):
  --data-dir <dir>          a gateway's data folder; its log is <dir>/events (not while a gateway runs on it)
  --url <url>               a running gateway's audit API, with --token <token> or $GATEWAY_TOKEN
                            (an auditor's or operator's token)
  EVENTSTORE_CONNECTION_STRING=esdb://...   EventStoreDB, when neither option is given

exit codes: 0 done (verify: intact), 1 verify found a break, a rebuild failed or a replay found nothing,
            2 a usage error or a source that cannot be read`;

export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable & { readonly isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

const OPTIONS = {
  'data-dir': { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  from: { type: 'string' },
  stream: { type: 'string' },
  rebuild: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const line = (out: Writable, text: string): void => {
  out.write(`${text}\n`);
};

/** Loaded on demand: the list of capabilities imports the whole gateway, which `verify` and `export` do not need. */
const loadCapabilities = () => import('../capabilities.js');
const loadRegistry = async (): Promise<EventRegistry> => (await loadCapabilities()).createEventRegistry();

const replay = async (opened: OpenedSource, correlationId: string, io: CliIo): Promise<number> => {
  const registry = await loadRegistry();
  const progress = progressReporter({ label: 'replay', out: io.stderr, head: await opened.source.headPosition() });
  const story = await storyOf(opened.source, registry, correlationId, { onProgress: progress.update });
  progress.finish();
  if (story.length === 0) {
    line(io.stderr, `no event in ${opened.description} has correlation id ${correlationId}`);
    return 1;
  }
  for (const text of formatTimeline(correlationId, story)) line(io.stdout, text);
  return 0;
};

const rebuild = async (opened: OpenedSource, io: CliIo): Promise<number> => {
  const registry = await loadRegistry();
  const progress = progressReporter({ label: 'rebuild', out: io.stderr, head: await opened.source.headPosition() });
  const result = await rebuildProjections(opened.source, registry, (await loadCapabilities()).allViews(), {
    onProgress: progress.update,
  });
  progress.finish();
  const rate = result.eventsPerSecond.toLocaleString('en-US');
  line(
    io.stdout,
    `rebuilt ${result.projections.length} projections from ${result.events.toLocaleString('en-US')} events in ${result.seconds.toFixed(2)} s (${rate} events/s)`,
  );
  const width = Math.max(...result.projections.map((projection) => projection.name.length));
  for (const projection of result.projections)
    line(
      io.stdout,
      `  ${projection.name.padEnd(width)}  ${projection.failure === undefined ? projection.text : `FAILED ${projection.failure}`}`,
    );
  return result.projections.some((projection) => projection.failure !== undefined) ? 1 : 0;
};

const verify = async (opened: OpenedSource, values: Values, io: CliIo): Promise<number> => {
  const progress = progressReporter({ label: 'verify', out: io.stderr, head: await opened.source.headPosition() });
  const verdict = await verifyLog(opened.source, { onProgress: progress.update });
  progress.finish();
  if (values.json) line(io.stdout, JSON.stringify(verdict));
  else if (verdict.first_bad === null)
    line(
      io.stdout,
      `OK: ${verdict.events_checked.toLocaleString('en-US')} events checked in ${opened.description}; every stream's hash chain is intact`,
    );
  else {
    const bad = verdict.first_bad;
    line(io.stdout, `NOT OK: ${bad.stream} revision ${bad.revision}: ${bad.reason}`);
    line(
      io.stdout,
      `(checking stopped there, after ${verdict.events_checked.toLocaleString('en-US')} events of ${opened.description})`,
    );
  }
  return verdict.ok ? 0 : 1;
};

const position = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  if (!/^\d{1,15}$/.test(text)) throw new CliError(`--from must be a $all position (an integer ≥ 0), got ${text}`);
  return Number(text);
};

const exportCommand = async (opened: OpenedSource, values: Values, io: CliIo): Promise<number> => {
  const from = position(values.from);
  const written = await exportEvents(opened.source, io.stdout, {
    ...(from !== undefined ? { from } : {}),
    ...(values.stream !== undefined ? { stream: values.stream } : {}),
  });
  if (written === 0 && values.stream !== undefined)
    line(
      io.stderr,
      `no events of stream ${values.stream}${from !== undefined ? ` at or after position ${from}` : ''} in ${opened.description}`,
    );
  return 0;
};

/** Which command, checked before any source is opened, so a usage error costs nothing. */
const commandOf = (
  values: Values,
  positionals: string[],
): { run: (opened: OpenedSource, io: CliIo) => Promise<number> } => {
  const [command, ...rest] = positionals;
  const none = (what: string): void => {
    if (rest.length > 0) throw new CliError(`${what} takes no argument, got ${rest.join(' ')}`);
  };
  switch (command) {
    case 'replay':
      if (values.rebuild) {
        none('replay --rebuild');
        return { run: rebuild };
      }
      if (rest.length !== 1) throw new CliError('replay needs one correlation id (or --rebuild)');
      return { run: (opened, io) => replay(opened, rest[0]!, io) };
    case 'rebuild':
      none('rebuild');
      return { run: rebuild };
    case 'verify':
      none('verify');
      return { run: (opened, io) => verify(opened, values, io) };
    case 'export':
      none('export');
      position(values.from);
      return { run: (opened, io) => exportCommand(opened, values, io) };
    case undefined:
      throw new CliError('which command? replay, verify or export');
    default:
      throw new CliError(`unknown command ${command}`);
  }
};

/** `gateway <command> …`: returns the exit code; never throws. */
export const runCli = async (argv: readonly string[], io: CliIo): Promise<number> => {
  let opened: OpenedSource | undefined;
  let command = '';
  let understood = false;
  let json = false;
  try {
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    } catch (error) {
      throw new CliError((error as Error).message);
    }
    if (parsed.values.help) {
      line(io.stdout, USAGE);
      return 0;
    }
    command = parsed.positionals[0] ?? '';
    json = parsed.values.json === true;
    const { run } = commandOf(parsed.values, parsed.positionals);
    understood = true;
    opened = await openAuditSource(
      { dataDir: parsed.values['data-dir'], url: parsed.values.url, token: parsed.values.token },
      io.env,
      io.cwd,
    );
    return await run(opened, io);
  } catch (error) {
    if (error instanceof CliError) {
      line(io.stderr, `gateway: ${error.message}`);
      if (!understood) line(io.stderr, 'run gateway --help for the commands and options');
      return 2;
    }
    // A log damaged below the hash chain (a bad checksum before valid records) fails verification too.
    if (error instanceof EventLogCorruptedError && command === 'verify') {
      line(
        io.stdout,
        json
          ? JSON.stringify({ ok: false, events_checked: 0, first_bad: null, error: error.message })
          : `NOT OK: ${error.message}`,
      );
      return 1;
    }
    if (error instanceof UndecodableEventError) {
      line(io.stderr, `gateway: the rebuild failed: ${error.message}`);
      return 1;
    }
    // Anything else (a gateway that refused, a store that failed) is said in one line, not a stack trace.
    line(
      io.stderr,
      `gateway: ${error instanceof GatewayRequestError || error instanceof EventLogCorruptedError ? '' : 'failed: '}${(error as Error).message}`,
    );
    return 2;
  } finally {
    await opened?.source.close();
  }
};
