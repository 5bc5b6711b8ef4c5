import * as E from 'fp-ts/lib/Either.js';
import { startGateway } from './composition.js';
import { ensureTokens, formatConfigError, loadConfig } from './config/load.js';
import { redactedConfig } from './config/redacted.js';
import { createLogger, logFormatFor } from './shared/logger.js';

/**
 * `npm start`: read the configuration, start the gateway, stop it gracefully on SIGTERM/SIGINT.
 * Start-up problems are one clear message on stderr and a non-zero exit, never a stack trace.
 */
const fail = (message: string, code = 1): never => {
  process.stderr.write(`ai-dev-gateway: ${message}\n`);
  process.exit(code);
};

const main = async (): Promise<void> => {
  const loaded = loadConfig();
  if (E.isLeft(loaded)) return fail(formatConfigError(loaded.left), 2);
  const tokens = ensureTokens(loaded.right);
  if (E.isLeft(tokens)) return fail(tokens.left, 2);
  const { config, generatedToken } = tokens.right;
  const format = logFormatFor(process.stdout.isTTY === true, process.env);
  if (E.isLeft(format)) return fail(format.left, 2);
  const logger = createLogger(format.right);
  logger.info({ config: redactedConfig(config) }, 'configuration loaded');

  let gateway;
  try {
    gateway = await startGateway(config, { logger });
  } catch (error) {
    return fail((error as Error).message);
  }
  if (generatedToken) {
    // Printed once, on this terminal only: the hash is all the gateway keeps.
    process.stdout.write(`\noperator token for this run (printed once, not stored): ${generatedToken}\n\n`);
  }
  let stopping = false;
  const shutdown = (signal: string): void => {
    // A repeated signal must not cut a graceful stop short: a SIGTERM that reaches the whole process
    // group (a child's own shutdown may send one) would otherwise kill the gateway mid-stop. A
    // second Ctrl-C is the person insisting: exit at once.
    if (stopping) {
      logger.warn({ signal }, signal === 'SIGINT' ? 'stopping at once' : 'already shutting down');
      if (signal === 'SIGINT') process.exit(130);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    gateway
      .stop()
      .then(() => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Announced only once a stop signal stops it gracefully: whoever waits for this line may send one at once.
  logger.info({ url: gateway.url }, `listening on ${gateway.url}`);
};

void main();
