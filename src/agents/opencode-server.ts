import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Logger } from 'pino';
import type { EventLog } from '../events/event-log.js';
import { OPENCODE_SERVER_STREAM, type OpenCodeServerEvent } from './events.js';
import { makeFolder } from '../files/make-folder.js';
import { handOver, ownedBy, requireReachable, type AgentUser } from '../shared/agent-user.js';
import { freePort } from '../shared/free-port.js';

export interface OpenCodeEndpoint {
  readonly url: string;
  /** When this start of the server became ready (ms since the epoch). */
  readonly startedAt: number;
  /** `Basic …` for the server's random password of this start. */
  readonly authorization: string;
}

/** The OpenCode server the agents use: one the gateway runs (OpenCodeServer) or one at `opencode.url`. */
export interface OpenCodeHost {
  /** The server as it answers now, or undefined while it is down. */
  readonly endpoint: OpenCodeEndpoint | undefined;
  /** Its process, when the gateway runs it. */
  readonly pid: number | undefined;
  /** Resolves once it answers; rejects if it does not (and keeps trying in the background). */
  start(): Promise<void>;
  /** For /ready: it answers its health route with the password. */
  health(): Promise<void>;
  stop(): Promise<void>;
}

/** The server's version, from its health route; throws on anything but a 2xx. */
export const openCodeHealth = async (endpoint: OpenCodeEndpoint, timeoutMs = 2000): Promise<string> => {
  const response = await fetch(`${endpoint.url}/global/health`, {
    headers: { authorization: endpoint.authorization },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`the OpenCode server answered ${response.status}`);
  }
  const { version } = (await response.json()) as { version?: string };
  return version ?? 'unknown';
};

/** HTTP Basic for OpenCode's server (its user is always `opencode`). */
export const basicAuthorization = (password: string): string =>
  `Basic ${Buffer.from(`opencode:${password}`).toString('base64')}`;

export interface OpenCodeServerOptions {
  readonly cliPath: string;
  /** Its four XDG folders (and its TMPDIR) live here, so sessions outlive restarts of the server and the gateway. */
  readonly stateDir: string;
  readonly configContent: Record<string, unknown>;
  readonly eventLog: EventLog;
  readonly logger: Logger;
  /** Whom the server (and so the agent's shell) runs as; undefined: the gateway's own user. */
  readonly user?: AgentUser | undefined;
  readonly clock?: () => Date;
  readonly readyTimeoutMs?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

const LISTENING = /opencode server listening on (http:\/\/127\.0\.0\.1:\d+)/;
/** A server that ran this long before dying is restarted at once; quicker deaths back off. */
const STABLE_AFTER_MS = 60_000;

/** Environment variables the operator's OpenCode configuration refers to as `{env:NAME}` (provider keys). */
const referencedVariables = (config: unknown): string[] => [
  ...new Set([...JSON.stringify(config).matchAll(/\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1]!)),
];

/**
 * OpenCode's four XDG folders and its temporary folder, under the state folder. It makes
 * `$TMPDIR/opencode` too: under a shared /tmp, two gateways' servers would share that.
 */
const STATE_FOLDERS = {
  XDG_DATA_HOME: 'data',
  XDG_CONFIG_HOME: 'config',
  XDG_CACHE_HOME: 'cache',
  XDG_STATE_HOME: 'state',
  TMPDIR: 'tmp',
};

/** The server's whole environment: the provider keys its configuration refers to, its folders, its password. */
const serverEnvironment = (
  stateDir: string,
  configContent: Record<string, unknown>,
  password: string,
): Record<string, string | undefined> => {
  const passthrough = Object.fromEntries(
    referencedVariables(configContent).flatMap((name) =>
      process.env[name] === undefined ? [] : [[name, process.env[name]]],
    ),
  );
  return {
    ...passthrough,
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: join(stateDir, 'home'),
    LANG: process.env['LANG'] ?? 'C.UTF-8',
    ...Object.fromEntries(Object.entries(STATE_FOLDERS).map(([name, folder]) => [name, join(stateDir, folder)])),
    OPENCODE_SERVER_PASSWORD: password,
    OPENCODE_DISABLE_MODELS_FETCH: '1',
    OPENCODE_DISABLE_AUTOUPDATE: '1',
    OPENCODE_ENABLE_QUESTION_TOOL: '1',
    OPENCODE_CONFIG_CONTENT: JSON.stringify(configContent),
  };
};

/**
 * The one shared `opencode serve` of the gateway: on 127.0.0.1, a random port and a random
 * password per start, its own XDG folders, the gateway's configuration. If it dies it is
 * started again with growing delay, and each start and death is recorded on the
 * `opencode-server` stream. Nothing but what OpenCode needs reaches its environment.
 */
export class OpenCodeServer implements OpenCodeHost {
  private child: ResultPromise | undefined;
  private current: (OpenCodeEndpoint & { readonly pid: number }) | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private readonly listeners = new Set<(endpoint: OpenCodeEndpoint) => void>();
  private readonly clock: () => Date;

  constructor(private readonly options: OpenCodeServerOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.backoffMs = options.initialBackoffMs ?? 1000;
  }

  /** The running server, or undefined while it is down. */
  get endpoint(): OpenCodeEndpoint | undefined {
    return this.current;
  }

  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** Called after every (re)start with the new endpoint. */
  onStart(listener: (endpoint: OpenCodeEndpoint) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts the server and resolves once it answers; rejects if it cannot start. */
  async start(): Promise<void> {
    this.stopping = false;
    try {
      await this.launch();
    } catch (error) {
      // Keep trying in the background; the caller decides whether to go on without it.
      if (this.child) void this.exited(this.child, Date.now(), null, null);
      throw error;
    }
  }

  /** For /ready: the server answers its health route with our password. */
  async health(): Promise<void> {
    const endpoint = this.current;
    if (!endpoint) throw new Error('the OpenCode server is not running');
    await openCodeHealth(endpoint);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    this.current = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await child.catch(() => undefined);
    clearTimeout(killer);
  }

  /**
   * A server a killed gateway left running (it has no parent to stop it) would share the state
   * folder with the new one: the last recorded one is stopped first, if it is still an opencode.
   */
  private async stopLeftover(): Promise<void> {
    const [last] = await this.options.eventLog.readStream<OpenCodeServerEvent>(OPENCODE_SERVER_STREAM, {
      direction: 'backwards',
      maxCount: 1,
    });
    if (last?.event.type !== 'OpenCodeServerStarted') return;
    const { pid } = last.event.data;
    const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!command.includes('opencode') || !command.includes('serve')) return;
    this.options.logger.warn({ pid }, 'stopping the OpenCode server a previous gateway left running');
    process.kill(pid, 'SIGTERM');
    for (let waited = 0; waited < 5000 && existsSync(`/proc/${pid}`); waited += 100)
      await new Promise((resolve) => setTimeout(resolve, 100));
    if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
    await this.record({
      type: 'OpenCodeServerExited',
      data: { pid, code: null, signal: 'SIGTERM', restart_in_ms: null, exited_at: this.clock().toISOString() },
    });
  }

  private async launch(): Promise<void> {
    await this.stopLeftover();
    await this.prepareStateFolder();
    const port = await freePort();
    const password = randomBytes(24).toString('base64url');
    const started = Date.now();
    const { child, stderrTail } = this.spawn(port, password);
    const url = await this.untilListening(child, stderrTail);
    const endpoint = {
      url,
      authorization: basicAuthorization(password),
      pid: child.pid!,
      startedAt: Date.now(),
    };
    await this.announce(endpoint, port);
    void child.then((result) => this.exited(child, started, result.exitCode ?? null, result.signal ?? null));
  }

  /**
   * Its XDG and temporary folders, made by the gateway and handed to the agent's user the first time (once
   * the agent's, the gateway never walks them again: the agent could have planted links there).
   */
  private async prepareStateFolder(): Promise<void> {
    const { stateDir, user } = this.options;
    if (user && (await ownedBy(stateDir, user))) return;
    await makeFolder(stateDir, 0o700);
    for (const folder of Object.values(STATE_FOLDERS)) await mkdir(join(stateDir, folder), { recursive: true });
    if (!user) return;
    await requireReachable(this.options.cliPath, user);
    await handOver(stateDir, user);
    // Once its own (0700): checked after the handover.
    await requireReachable(stateDir, user);
  }

  /** Runs `opencode serve` and keeps the tail of what it says on stderr, for the errors of a failed start. */
  private spawn(port: number, password: string): { child: ResultPromise; stderrTail: () => string } {
    const env = serverEnvironment(this.options.stateDir, this.options.configContent, password);
    const child = execa(this.options.cliPath, ['serve', '--port', String(port), '--hostname', '127.0.0.1'], {
      env,
      extendEnv: false,
      ...(this.options.user ? { uid: this.options.user.uid, gid: this.options.user.gid } : {}),
      stdin: 'ignore',
      buffer: false,
      reject: false,
      cleanup: true,
    });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
      this.options.logger.debug({ opencode: chunk.toString().trim() }, 'opencode stderr');
    });
    return { child, stderrTail: () => stderr };
  }

  /** The URL the server says it listens on; a server that exits or stays silent first is killed. */
  private async untilListening(child: ResultPromise, stderrTail: () => string): Promise<string> {
    const readyTimeoutMs = this.options.readyTimeoutMs ?? 30_000;
    return new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`OpenCode did not start within ${readyTimeoutMs} ms: ${stderrTail()}`)),
        readyTimeoutMs,
      );
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = LISTENING.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      void child.then((result) => {
        clearTimeout(timer);
        reject(
          new Error(
            `OpenCode exited before it was ready (${result.exitCode ?? result.signal}): ${stderrTail().trim() || result.message}`,
          ),
        );
      });
    }).catch(async (error: unknown) => {
      child.kill('SIGKILL');
      await child.catch(() => undefined);
      throw error;
    });
  }

  /** Records the start, then makes the endpoint current and tells the listeners. */
  private async announce(endpoint: OpenCodeEndpoint & { readonly pid: number }, port: number): Promise<void> {
    const version = await openCodeHealth(endpoint, 30_000);
    // Recorded before it is used: whoever sees the endpoint can find its start in the log.
    await this.record({
      type: 'OpenCodeServerStarted',
      data: { pid: endpoint.pid, port, version, started_at: this.clock().toISOString() },
    });
    this.current = endpoint;
    this.options.logger.info({ pid: endpoint.pid, port, version }, 'OpenCode server started');
    for (const listener of this.listeners) listener(endpoint);
  }

  private async exited(
    child: ResultPromise,
    started: number,
    code: number | null,
    signal: string | null,
  ): Promise<void> {
    if (this.child !== child) return;
    this.current = undefined;
    if (this.stopping) return;
    if (Date.now() - started > STABLE_AFTER_MS) this.backoffMs = this.options.initialBackoffMs ?? 1000;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 30_000);
    this.options.logger.error(
      { pid: child.pid, code, signal, restart_in_ms: delay },
      'OpenCode server exited; restarting',
    );
    await this.record({
      type: 'OpenCodeServerExited',
      data: { pid: child.pid ?? 0, code, signal, restart_in_ms: delay, exited_at: this.clock().toISOString() },
    }).catch(() => undefined);
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.launch().catch((error: unknown) => {
        this.options.logger.error({ err: error }, 'OpenCode server failed to start');
        // The failed attempt is the current child now: its death schedules the next try.
        if (this.child) void this.exited(this.child, Date.now(), null, null);
      });
    }, delay);
  }

  private async record(event: OpenCodeServerEvent): Promise<void> {
    await this.options.eventLog.append(OPENCODE_SERVER_STREAM, [event], {
      expectedRevision: 'any',
      context: {
        actor: 'system:opencode',
        correlationId: OPENCODE_SERVER_STREAM,
        causationId: OPENCODE_SERVER_STREAM,
        now: this.clock(),
      },
    });
  }
}
