import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { LineCounter, parseDocument } from 'yaml';
import { reportValidationErrors, type ValidationProblem } from '../events/validation-report.js';
import { interpolate } from './interpolate.js';
import { FileConfig, Role, type GatewayConfig, type TokenConfig } from './schema.js';
import { generateToken, isLoopback, sha256Hex } from './tokens.js';

const DEFAULT_CONFIG_FILE = 'config/backend.yaml';
export const DEFAULT_DATA_DIR = './.gateway';

/** Why the configuration cannot be used: every problem, by key path. */
export interface ConfigError {
  readonly source: string;
  readonly problems: readonly ValidationProblem[];
}

export interface LoadOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Reads GATEWAY_CONFIG (or config/backend.yaml), interpolates it, applies the environment, and decodes it. */
export const loadConfig = ({ env = process.env, cwd = process.cwd() }: LoadOptions = {}): E.Either<
  ConfigError,
  GatewayConfig
> => {
  const source = resolve(cwd, env['GATEWAY_CONFIG'] || DEFAULT_CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (error) {
    return E.left({
      source,
      problems: [
        {
          path: '',
          message: `cannot read the configuration file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        },
      ],
    });
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (document.errors.length > 0) {
    return E.left({
      source,
      problems: document.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        return {
          path: '',
          message: `YAML ${error.code} at line ${line}, column ${col}: ${error.message.split('\n')[0]}`,
        };
      }),
    });
  }
  const raw = interpolate(document.toJS(), env);
  const problems: ValidationProblem[] = [];
  const tree = applyEnvironment(raw, env, problems);
  problems.push(...unknownKeys(FileConfig, tree, ''));
  const decoded = FileConfig.decode(tree);
  if (E.isLeft(decoded)) problems.push(...reportValidationErrors(decoded.left));
  // Unsigned webhooks would let anyone who learns the URL speak for the gateway.
  if (E.isRight(decoded) && decoded.right.webhooks.slack_url !== '' && !env['GATEWAY_WEBHOOK_SECRET']) {
    problems.push({
      path: 'webhooks.slack_url',
      message: 'webhooks are signed: set GATEWAY_WEBHOOK_SECRET too, or leave SLACK_WEBHOOK_URL unset',
    });
  }
  // The server at opencode.url runs the agent's shell: it must not answer whoever reaches its port.
  if (E.isRight(decoded) && decoded.right.opencode.url !== '' && !env['OPENCODE_SERVER_PASSWORD']) {
    problems.push({
      path: 'opencode.url',
      message:
        'an OpenCode server of its own needs its password: set OPENCODE_SERVER_PASSWORD (as its container has it)',
    });
  }
  if (problems.length > 0 || E.isLeft(decoded)) return E.left({ source, problems });
  return E.right({
    ...decoded.right,
    source,
    data_dir: resolve(cwd, env['GATEWAY_DATA_DIR'] || DEFAULT_DATA_DIR),
    secrets: {
      webhookSecret: env['GATEWAY_WEBHOOK_SECRET'] || undefined,
      slackSigningSecret: env['SLACK_SIGNING_SECRET'] || undefined,
      bundleSecret: env['GATEWAY_BUNDLE_SECRET'] || undefined,
      opencodePassword: env['OPENCODE_SERVER_PASSWORD'] || undefined,
    },
    kubeconfig: env['KUBECONFIG'] || undefined,
  });
};

/** The contract's environment variables win over the file. */
const applyEnvironment = (raw: unknown, env: NodeJS.ProcessEnv, problems: ValidationProblem[]): unknown => {
  if (!isRecord(raw)) return raw;
  const tree: Record<string, unknown> = { ...raw };
  const server = isRecord(tree['server']) ? { ...tree['server'] } : {};
  if (env['HOST']) server['host'] = env['HOST'];
  if (env['PORT']) server['port'] = /^\d+$/.test(env['PORT']) ? Number(env['PORT']) : env['PORT'];
  tree['server'] = server;
  if (env['EVENTSTORE_CONNECTION_STRING']) {
    tree['event_store'] = { type: 'eventstoredb', connection_string: env['EVENTSTORE_CONNECTION_STRING'] };
  }
  if (env['GATEWAY_TOKENS']) {
    const auth = isRecord(tree['auth']) ? { ...tree['auth'] } : {};
    const tokens: unknown[] = Array.isArray(auth['tokens']) ? [...(auth['tokens'] as unknown[])] : [];
    tokens.push(...parseTokenList(env['GATEWAY_TOKENS'], problems));
    tree['auth'] = { ...auth, tokens };
  }
  if (env['GATEWAY_OPENCODE_CONFIG']) {
    const opencode = isRecord(tree['opencode']) ? { ...tree['opencode'] } : {};
    try {
      const extra: unknown = JSON.parse(env['GATEWAY_OPENCODE_CONFIG']);
      if (!isRecord(extra)) throw new Error('not a JSON object');
      opencode['config'] = deepMerge(isRecord(opencode['config']) ? opencode['config'] : {}, extra);
    } catch (error) {
      problems.push({
        path: 'GATEWAY_OPENCODE_CONFIG',
        message: `expected a JSON object: ${(error as Error).message}`,
      });
    }
    tree['opencode'] = opencode;
  }
  return tree;
};

/** `name:role:token,...`; the clear token is hashed here and goes no further. */
const parseTokenList = (list: string, problems: ValidationProblem[]): TokenConfig[] =>
  list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .flatMap((entry, index) => {
      const [name, role, ...rest] = entry.split(':');
      const token = rest.join(':');
      const path = `GATEWAY_TOKENS[${index}]`;
      if (!name || !token) {
        problems.push({ path, message: 'expected name:role:token' });
        return [];
      }
      if (!Role.is(role)) {
        problems.push({ path, message: `role must be operator, viewer or auditor (token "${name}")` });
        return [];
      }
      if (token.length < 16) {
        problems.push({ path, message: `token "${name}" is shorter than 16 characters` });
        return [];
      }
      return [{ name, role, sha256: sha256Hex(token) }];
    });

/** Keys the schema does not know: a typo must not be silently ignored. */
const unknownKeys = (codec: t.Mixed, value: unknown, path: string): ValidationProblem[] => {
  if (codec instanceof t.InterfaceType && isRecord(value)) {
    const props = codec.props as Record<string, t.Mixed>;
    return Object.entries(value).flatMap(([key, item]) => {
      const child = path === '' ? key : `${path}.${key}`;
      const known = props[key];
      return known ? unknownKeys(known, item, child) : [{ path: child, message: 'unknown key' }];
    });
  }
  if (codec instanceof t.ArrayType && Array.isArray(value)) {
    return value.flatMap((item, index) => unknownKeys(codec.type as t.Mixed, item, `${path}[${index}]`));
  }
  if (codec instanceof t.UnionType && isRecord(value)) {
    const branch = (codec.types as t.Mixed[]).find(
      (type) => type instanceof t.InterfaceType && (type.props as Record<string, t.Mixed>)['type']?.is(value['type']),
    );
    return branch ? unknownKeys(branch, value, path) : [];
  }
  return [];
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const deepMerge = (base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> => {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = merged[key];
    merged[key] = isRecord(current) && isRecord(value) ? deepMerge(current, value) : value;
  }
  return merged;
};

/** One line per problem, for the operator reading start-up output. */
export const formatConfigError = (error: ConfigError): string =>
  [
    `invalid configuration in ${error.source}:`,
    ...error.problems.map(({ path, message }) => `  - ${path === '' ? '' : `${path}: `}${message}`),
  ].join('\n');

/**
 * No configured token: on a loopback address a random operator token is made for this run
 * (the caller prints it once); on any other address the gateway must not start open.
 */
export const ensureTokens = (
  config: GatewayConfig,
): E.Either<string, { config: GatewayConfig; generatedToken?: string }> => {
  if (config.auth.tokens.length > 0) return E.right({ config });
  if (!isLoopback(config.server.host)) {
    return E.left(
      `no API tokens are configured and server.host ${config.server.host} is not a loopback address: set auth.tokens in ${config.source} or GATEWAY_TOKENS`,
    );
  }
  const generatedToken = generateToken();
  return E.right({
    config: {
      ...config,
      auth: { tokens: [{ name: 'local-operator', role: 'operator', sha256: sha256Hex(generatedToken) }] },
    },
    generatedToken,
  });
};
