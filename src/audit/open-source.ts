import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_DATA_DIR } from '../config/load.js';
import { LOG_FILE, openEmbeddedEventStore } from '../eventstore/embedded/index.js';
import { EventStoreLockedError } from '../eventstore/port.js';
import { httpSource } from './http-source.js';
import { storeSource, type AuditSource } from './source.js';

/** A mistake the person running the CLI can fix: printed as is, exit code 2. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

export interface SourceChoice {
  readonly dataDir?: string | undefined;
  readonly url?: string | undefined;
  readonly token?: string | undefined;
}

export interface OpenedSource {
  readonly source: AuditSource;
  /** Where the history comes from, for the first line of output. */
  readonly description: string;
}

/**
 * The CLI's history: a running gateway's audit API (`--url`), else the embedded log of a data
 * folder (`--data-dir`), else EventStoreDB (`EVENTSTORE_CONNECTION_STRING`), else the embedded
 * log of `GATEWAY_DATA_DIR` or ./.gateway, as the gateway itself chooses. The embedded log in
 * `<data dir>/events`, the folder the default configuration gives the gateway.
 */
export const openAuditSource = async (
  choice: SourceChoice,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<OpenedSource> => {
  if (choice.url !== undefined) {
    const token = choice.token ?? env['GATEWAY_TOKEN'];
    if (!token) throw new CliError('--url needs an auditor token: --token <token> or GATEWAY_TOKEN');
    if (!/^https?:\/\//.test(choice.url)) throw new CliError(`--url must be an http(s) URL, got ${choice.url}`);
    return { source: httpSource({ url: choice.url, token }), description: `the audit API of ${choice.url}` };
  }
  if (choice.dataDir === undefined && env['EVENTSTORE_CONNECTION_STRING']) {
    // Loaded only here: the gRPC client is slow to load and the other sources do not need it.
    const { openEventStoreDb } = await import('../eventstore/eventstoredb/index.js');
    const store = await openEventStoreDb(env['EVENTSTORE_CONNECTION_STRING']);
    return {
      source: storeSource(store, { closeStore: true }),
      description: 'EventStoreDB (EVENTSTORE_CONNECTION_STRING)',
    };
  }
  const folder = join(resolve(cwd, choice.dataDir ?? (env['GATEWAY_DATA_DIR'] || DEFAULT_DATA_DIR)), 'events');
  // Opening creates an empty log where there is none: a mistyped folder must not look like an empty history.
  if (!existsSync(join(folder, LOG_FILE)))
    throw new CliError(
      `no event log at ${join(folder, LOG_FILE)}: pass --data-dir <the gateway's data folder> (the log is <dir>/events/${LOG_FILE})`,
    );
  try {
    const store = await openEmbeddedEventStore({ dataDir: folder });
    return { source: storeSource(store, { closeStore: true }), description: `the embedded log in ${folder}` };
  } catch (error) {
    if (error instanceof EventStoreLockedError) {
      throw new CliError(
        `the event log in ${folder} is held by a running gateway (${error.message}); read through its audit API instead: --url <the gateway's URL> --token <an auditor token>`,
      );
    }
    throw error;
  }
};
