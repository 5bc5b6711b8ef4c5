import * as E from 'fp-ts/lib/Either.js';
import { parse as parseToml } from 'smol-toml';
import { installSteps } from './install-steps.js';
import { LAB_MANIFEST } from './lab-manifest.js';
import type { RuntimeKind } from './runtime-kind.js';

/** A repository's text files by path (binary ones may be absent or empty): what tells how it starts. */
export type RepoTexts = ReadonlyMap<string, string>;

/** A start command as a shell script: its dependencies installed, then `exec` of its entry point. */
const script = (kind: RuntimeKind, start: string): readonly string[] => [
  'sh',
  '-c',
  ['set -e', ...installSteps(kind, 'production'), `exec ${start}`].join('\n'),
];

/**
 * Node: `npm start` runs package.json's `start` script, or `node server.js` when there is none
 * (https://docs.npmjs.com/cli/v10/commands/npm-start).
 */
const nodeStart = (files: RepoTexts): E.Either<string, readonly string[]> => {
  let scripts: Record<string, unknown>;
  try {
    scripts = (JSON.parse(files.get('package.json') ?? '{}') as { scripts?: Record<string, unknown> }).scripts ?? {};
  } catch (error) {
    return E.left(`package.json is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof scripts['start'] !== 'string' && !files.has('server.js'))
    return E.left(
      `cannot tell how to start this Node app: package.json has no "start" script and there is no server.js (what npm start runs without one); add either, or set "command" in ${LAB_MANIFEST}`,
    );
  return E.right(script('node', 'npm start'));
};

const PACKAGE_MAIN = /^([A-Za-z_][A-Za-z0-9_]*)\/__main__\.py$/;

/**
 * Python, by what the repository declares, in this order: a `[project.scripts]` entry point, run
 * by `uv run --no-sync` (the environment is synced already; https://docs.astral.sh/uv/concepts/projects/run/,
 * https://docs.astral.sh/uv/reference/cli/#uv-run); a `__main__.py` at the root; one package with
 * a `__main__.py`, run with `python -m`. uv creates entry points only for a project with a
 * `[build-system]` (https://docs.astral.sh/uv/concepts/projects/config/#entry-points).
 */
const pythonStart = (files: RepoTexts): E.Either<string, readonly string[]> => {
  const pyproject = files.get('pyproject.toml');
  if (pyproject !== undefined) {
    let parsed: { project?: { scripts?: Record<string, unknown> }; 'build-system'?: unknown };
    try {
      parsed = parseToml(pyproject);
    } catch (error) {
      return E.left(`pyproject.toml is not valid TOML: ${(error as Error).message.split('\n')[0]}`);
    }
    const [name] = Object.keys(parsed.project?.scripts ?? {});
    if (name !== undefined) {
      if (parsed['build-system'] === undefined)
        return E.left(
          `pyproject.toml declares [project.scripts] but no [build-system]: uv installs entry points only for a project it builds; add a [build-system], or set "command" in ${LAB_MANIFEST}`,
        );
      return E.right(script('uv', `uv run --no-sync ${shellWord(name)}`));
    }
  }
  if (files.has('__main__.py')) return E.right(script('uv', 'uv run --no-sync python __main__.py'));
  const packages = [...files.keys()].flatMap((path) => PACKAGE_MAIN.exec(path)?.[1] ?? []);
  if (packages.length === 1) return E.right(script('uv', `uv run --no-sync python -m ${packages[0]!}`));
  return E.left(
    packages.length > 1
      ? `cannot tell how to start this Python app: packages ${packages.join(', ')} each have a __main__.py; set "command" in ${LAB_MANIFEST}`
      : `cannot tell how to start this Python app: declare an entry point in pyproject.toml's [project.scripts] (with a [build-system]), add a __main__.py, or set "command" in ${LAB_MANIFEST}`,
  );
};

/** A name from a file, as one shell word: only what an entry point's name may hold passes as it is. */
const shellWord = (name: string): string =>
  /^[A-Za-z0-9._-]+$/.test(name) ? name : `'${name.replaceAll("'", "'\\''")}'`;

export const isCamelRoute = (path: string): boolean =>
  /\.camel\.(ya?ml|xml)$/.test(path) || /(^|\/)routes?\/.*\.(ya?ml|xml)$/.test(path) || path.endsWith('.camel.java');

/**
 * Camel JBang: the image's entry point is `jbang camel@apache/camel` with the Camel version the
 * image was built with (`CAMEL_VERSION`), whose dependencies it holds already; `camel run` takes
 * the route files listed, here as the script's arguments so no shell reads them, and
 * `application.properties` with them; `--port` is the embedded HTTP server's port and `--health`
 * serves `/q/health` on it (https://camel.apache.org/manual/camel-jbang.html, "Running routes from
 * multiple files"; the options of `camel run` in apache/camel's camel-jbang Run.java).
 */
const camelStart = (files: RepoTexts): E.Either<string, readonly string[]> => {
  const routes = [...files.keys()].filter(isCamelRoute).sort();
  if (routes.length === 0)
    return E.left(`cannot tell what to run with Camel JBang: no route files; set "command" in ${LAB_MANIFEST}`);
  const properties = files.has('application.properties') ? ['application.properties'] : [];
  return E.right([
    'sh',
    '-c',
    'exec jbang "-Dcamel.jbang.version=${CAMEL_VERSION:-4.8.0}" camel@apache/camel run --port="$PORT" --health "$@"',
    'camel',
    ...routes,
    ...properties,
  ]);
};

/** How a repository's lab starts, from what it declares; why not, when it cannot be told. */
export const startCommand = (kind: RuntimeKind, files: RepoTexts): E.Either<string, readonly string[]> => {
  switch (kind) {
    case 'node':
      return nodeStart(files);
    case 'uv':
      return pythonStart(files);
    case 'camel-jbang':
      return camelStart(files);
    default: {
      const unexpected: never = kind;
      return unexpected;
    }
  }
};
