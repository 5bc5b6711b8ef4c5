import type { Logger } from 'pino';
import { basicAuthorization, openCodeHealth, type OpenCodeEndpoint, type OpenCodeHost } from './opencode-server.js';

export interface RemoteOpenCodeOptions {
  /** `opencode.url`: where the server listens (in k8s/, the sidecar on the pod's loopback). */
  readonly url: string;
  readonly password: string;
  readonly logger: Logger;
  /** How often it is asked whether it still answers. */
  readonly pollMs?: number;
}

/**
 * An OpenCode server the gateway does not run: in k8s/ a container of its own beside the
 * gateway's, with none of the gateway's credentials. The gateway only watches it: while it answers
 * its health route it is the endpoint; when it stops answering the agents wait, and when it
 * answers again it counts as a new start (its restarts happen out of the gateway's sight).
 */
export class RemoteOpenCodeServer implements OpenCodeHost {
  readonly pid = undefined;
  private current: OpenCodeEndpoint | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The server as configured; `startedAt` is set on each endpoint made from it. */
  private readonly configured: OpenCodeEndpoint;

  constructor(private readonly options: RemoteOpenCodeOptions) {
    this.configured = {
      url: options.url.replace(/\/+$/, ''),
      authorization: basicAuthorization(options.password),
      startedAt: 0,
    };
  }

  get endpoint(): OpenCodeEndpoint | undefined {
    return this.current;
  }

  async start(): Promise<void> {
    this.stopped = false;
    try {
      await this.check();
      if (!this.current) throw new Error(`the OpenCode server at ${this.configured.url} does not answer`);
    } finally {
      this.schedule();
    }
  }

  async health(): Promise<void> {
    await openCodeHealth(this.configured);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.current = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check().finally(() => this.schedule()), this.options.pollMs ?? 5000);
  }

  private async check(): Promise<void> {
    try {
      const version = await openCodeHealth(this.configured);
      if (this.current || this.stopped) return;
      this.current = { ...this.configured, startedAt: Date.now() };
      this.options.logger.info({ url: this.configured.url, version }, 'OpenCode server answers');
    } catch (error) {
      if (!this.current) return;
      this.current = undefined;
      this.options.logger.error({ err: error, url: this.configured.url }, 'OpenCode server stopped answering');
    }
  }
}
