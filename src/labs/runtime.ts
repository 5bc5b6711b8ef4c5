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

/**
 * How a Node lab starts, in `APP_DIR` (an emptyDir the init container filled, so writable): its
 * production dependencies installed first, then its own `start` script.
 * - With a lock file, `npm ci --omit=dev`: installs exactly what the lock says, fails when it does
 *   not match package.json, and leaves devDependencies out
 *   (https://docs.npmjs.com/cli/v10/commands/npm-ci, its `omit` option).
 * - Without one, `npm install --omit=dev` resolves them (https://docs.npmjs.com/cli/v10/commands/npm-install).
 * - `exec npm start` runs package.json's `start` script, or `node server.js` when there is none
 *   (https://docs.npmjs.com/cli/v10/commands/npm-start), as the container's main process.
 */
const NODE_START = [
  'set -e',
  'if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then',
  '  npm ci --omit=dev --no-audit --no-fund',
  'else',
  '  npm install --omit=dev --no-audit --no-fund',
  'fi',
  'exec npm start',
].join('\n');

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
