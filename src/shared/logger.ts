import * as E from 'fp-ts/lib/Either.js';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

/**
 * How the gateway writes its log: `LOG_FORMAT` (`json` or `pretty`) when set, else pretty only for
 * a person at a terminal. A pipe, a file or a container's log collector gets JSON lines, which
 * log shippers parse and `pino-pretty` can still render afterwards.
 */
export const logFormatFor = (stdoutIsTTY: boolean, env: NodeJS.ProcessEnv): E.Either<string, LogFormat> => {
  const chosen = env['LOG_FORMAT'] ?? '';
  if (chosen === 'json' || chosen === 'pretty') return E.right(chosen);
  if (chosen !== '') return E.left(`LOG_FORMAT must be json or pretty, got ${JSON.stringify(chosen)}`);
  return E.right(stdoutIsTTY ? 'pretty' : 'json');
};

/** The gateway's logger, on stdout, with credentials that may ride on a request kept out. */
export const createLogger = (format: LogFormat = 'json'): Logger => {
  const options = { base: { service: 'ai-dev-gateway' }, redact: ['req.headers.authorization'] };
  // Synchronous, as pino's own stdout is: the last lines before process.exit must not be lost.
  if (format === 'json') return pino(options);
  return pino(options, pretty({ sync: true, translateTime: 'SYS:standard', ignore: 'pid,hostname,service' }));
};
