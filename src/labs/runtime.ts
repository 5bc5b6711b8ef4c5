import type { LabManifest } from './lab-manifest.js';

export type RuntimeKind = 'uv' | 'camel-jbang' | 'node';

export interface Runtime {
  readonly kind: RuntimeKind;
  readonly image: string;
  readonly command: readonly string[];
  readonly port: number;
  readonly healthPath: string;
  readonly env: Readonly<Record<string, string>>;
}

/** Where the code is mounted in the lab's pod. */
export const APP_DIR = '/app';

/** Which dependencies to install: the lab's (production) or its tests' (development, dev ones too). */
type Purpose = 'production' | 'development';

/**
 * The shell lines that install a repository's dependencies in `APP_DIR` (an emptyDir the init
 * container filled, so writable), by runtime.
 * - Node: with a lock file, `npm ci` installs exactly what the lock says and fails when it does
 *   not match package.json (https://docs.npmjs.com/cli/v10/commands/npm-ci); without one,
 *   `npm install` resolves them (https://docs.npmjs.com/cli/v10/commands/npm-install);
 *   `--omit=dev` leaves devDependencies out (the `omit` option of both).
 * - uv: see UV_INSTALL.
 * - camel-jbang: JBang resolves a route's dependencies itself when it runs it.
 */
export const installSteps = (kind: RuntimeKind, purpose: Purpose): readonly string[] => {
  switch (kind) {
    case 'node': {
      const omit = purpose === 'production' ? ' --omit=dev' : '';
      return [
        'if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then',
        `  npm ci${omit} --no-audit --no-fund`,
        'else',
        `  npm install${omit} --no-audit --no-fund`,
        'fi',
      ];
    }
    case 'uv':
      return UV_INSTALL(purpose);
    case 'camel-jbang':
      return [':'];
    default: {
      const unexpected: never = kind;
      return unexpected;
    }
  }
};

/**
 * uv: `uv sync` into the project's environment, which `UV_PROJECT_ENVIRONMENT` puts on the
 * emptyDir; `--frozen` installs from uv.lock as it is, never updating it; `--no-dev` leaves the
 * `dev` group out (synced by default). A repository with only requirements.txt gets a venv of its
 * own and `uv pip install -r` into it. (Sources cited at each flag in UV_DOCS.)
 */
const UV_INSTALL = (purpose: Purpose): readonly string[] => {
  const noDev = purpose === 'production' ? ' --no-dev' : '';
  return [
    'if [ -f uv.lock ]; then',
    `  uv sync --frozen${noDev}`,
    'elif [ -f pyproject.toml ]; then',
    `  uv sync${noDev}`,
    'elif [ -f requirements.txt ]; then',
    '  uv venv "$UV_PROJECT_ENVIRONMENT" && uv pip install --python "$UV_PROJECT_ENVIRONMENT" -r requirements.txt',
    'fi',
  ];
};

/** The variables a runtime's tools need to keep their state on the writable emptyDir. */
export const toolEnv = (kind: RuntimeKind): Readonly<Record<string, string>> =>
  kind === 'uv'
    ? { UV_PROJECT_ENVIRONMENT: `${APP_DIR}/.venv`, UV_CACHE_DIR: `${APP_DIR}/.cache/uv`, UV_LINK_MODE: 'copy' }
    : {};

/**
 * How a Node lab starts: its production dependencies installed first, then `exec npm start` runs
 * package.json's `start` script, or `node server.js` when there is none
 * (https://docs.npmjs.com/cli/v10/commands/npm-start), as the container's main process.
 */
const NODE_START = ['set -e', ...installSteps('node', 'production'), 'exec npm start'].join('\n');

const DEFAULTS: Record<RuntimeKind, Omit<Runtime, 'kind' | 'env' | 'healthPath'>> = {
  uv: {
    image: 'ghcr.io/astral-sh/uv:python3.12-bookworm-slim',
    command: ['uv', 'run', '--project', APP_DIR, 'python', '-m', 'app'],
    port: 8000,
  },
  'camel-jbang': { image: 'apache/camel-jbang:4.8.0', command: ['camel', 'run', `${APP_DIR}/*`], port: 8080 },
  node: { image: 'node:20-slim', command: ['sh', '-c', NODE_START], port: 3000 },
};

const isCamelRoute = (path: string): boolean =>
  /\.camel\.(ya?ml|xml)$/.test(path) || /(^|\/)routes?\/.*\.(ya?ml|xml)$/.test(path) || path.endsWith('.camel.java');

/**
 * The runtime a repository needs, from its files (Python: pyproject.toml or requirements.txt →
 * uv; Apache Camel routes → camel-jbang; Node: package.json → npm), unless its lab manifest says.
 */
export const detectRuntime = (paths: readonly string[], manifest: LabManifest): Runtime | undefined => {
  const has = (name: string) => paths.includes(name);
  const detected: RuntimeKind | undefined =
    manifest.runtime ??
    (has('pyproject.toml') || has('requirements.txt')
      ? 'uv'
      : paths.some(isCamelRoute)
        ? 'camel-jbang'
        : has('package.json')
          ? 'node'
          : undefined);
  if (!detected) return undefined;
  const defaults = DEFAULTS[detected];
  return {
    kind: detected,
    image: manifest.image ?? defaults.image,
    command: manifest.command ?? defaults.command,
    port: manifest.port ?? defaults.port,
    healthPath: manifest.health_path ?? '/',
    env: manifest.env ?? {},
  };
};
