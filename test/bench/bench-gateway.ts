import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import pino from 'pino';
import { startGateway, type Gateway } from '../../src/composition.js';
import { formatConfigError, loadConfig } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/schema.js';

/**
 * The gateway as `npm start` wires it, for a benchmark: the shipped configuration with its data
 * and workspace in `dir`, one operator token, no OpenCode, no rate limit in the way, silent logs.
 */
export const startBenchGateway = async (
  dir: string,
  token: string,
  options: {
    readonly kubeconfig?: string;
    readonly workspace?: Partial<GatewayConfig['workspace']>;
    readonly env?: Readonly<Record<string, string>>;
  } = {},
): Promise<Gateway> => {
  const loaded = loadConfig({
    env: { GATEWAY_DATA_DIR: dir, PORT: '0', GATEWAY_TOKENS: `bench:operator:${token}`, ...options.env },
  });
  if (E.isLeft(loaded)) throw new Error(formatConfigError(loaded.left));
  const config = loaded.right;
  return startGateway(
    {
      ...config,
      ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
      server: { ...config.server, rate_limit_per_minute: 1_000_000 },
      event_store: { type: 'embedded', data_dir: join(dir, 'events'), min_free_bytes: 0 },
      workspace: { ...config.workspace, ...options.workspace },
      opencode: { ...config.opencode, enabled: false },
    },
    { logger: pino({ level: 'silent' }) },
  );
};
