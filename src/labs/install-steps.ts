import { APP_DIR, type RuntimeKind } from './runtime-kind.js';

/** Which dependencies to install: the lab's (production) or its tests' (development, dev ones too). */
export type Purpose = 'production' | 'development';

/**
 * uv keeps the project's environment where `UV_PROJECT_ENVIRONMENT` says and its cache where
 * `UV_CACHE_DIR` says (https://docs.astral.sh/uv/concepts/projects/config/#project-environment-path,
 * https://docs.astral.sh/uv/concepts/cache/#cache-directory): both on the writable `APP_DIR`, one
 * file system, so uv can link from its cache. `.venv` in the working directory is also where
 * `uv run` and `uv pip` look outside a project (https://docs.astral.sh/uv/pip/environments/).
 */
const UV_ENVIRONMENT = `${APP_DIR}/.venv`;

/** The variables a runtime's tools need to keep their state on the writable emptyDir. */
export const toolEnv = (kind: RuntimeKind): Readonly<Record<string, string>> =>
  kind === 'uv' ? { UV_PROJECT_ENVIRONMENT: UV_ENVIRONMENT, UV_CACHE_DIR: `${APP_DIR}/.cache/uv` } : {};

/**
 * Node: with a lock file, `npm ci` installs exactly what the lock says and fails when it does not
 * match package.json (https://docs.npmjs.com/cli/v10/commands/npm-ci); without one, `npm install`
 * resolves them (https://docs.npmjs.com/cli/v10/commands/npm-install); `--omit=dev` leaves
 * devDependencies out (the `omit` option of both).
 */
const nodeInstall = (purpose: Purpose): readonly string[] => {
  const omit = purpose === 'production' ? ' --omit=dev' : '';
  return [
    'if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then',
    `  npm ci${omit} --no-audit --no-fund`,
    'else',
    `  npm install${omit} --no-audit --no-fund`,
    'fi',
  ];
};

/**
 * uv (https://docs.astral.sh/uv/concepts/projects/sync/, https://docs.astral.sh/uv/reference/cli/#uv-sync):
 * `uv sync --frozen` installs what uv.lock says without checking or updating it; without a lock,
 * `uv sync` resolves one; `--no-dev` leaves out the `dev` group, which is synced by default
 * (https://docs.astral.sh/uv/concepts/projects/dependencies/#default-groups). A repository with
 * only requirements.txt gets a venv (`uv venv`) and `uv pip install -r` into it, `--python`
 * naming the venv (https://docs.astral.sh/uv/pip/environments/); its tests also get
 * requirements-dev.txt when there is one.
 */
const uvInstall = (purpose: Purpose): readonly string[] => {
  const noDev = purpose === 'production' ? ' --no-dev' : '';
  const pip = `uv pip install --python "${UV_ENVIRONMENT}"`;
  return [
    'if [ -f uv.lock ]; then',
    `  uv sync --frozen${noDev}`,
    'elif [ -f pyproject.toml ]; then',
    `  uv sync${noDev}`,
    'elif [ -f requirements.txt ]; then',
    `  uv venv "${UV_ENVIRONMENT}" && ${pip} -r requirements.txt` +
      (purpose === 'development' ? ` && { [ ! -f requirements-dev.txt ] || ${pip} -r requirements-dev.txt; }` : ''),
    'fi',
  ];
};

/**
 * The shell lines that install a repository's dependencies in `APP_DIR` (an emptyDir the init
 * container filled, so writable), by runtime. camel-jbang has none: JBang resolves a route's
 * dependencies itself when it runs it.
 */
export const installSteps = (kind: RuntimeKind, purpose: Purpose): readonly string[] => {
  switch (kind) {
    case 'node':
      return nodeInstall(purpose);
    case 'uv':
      return uvInstall(purpose);
    case 'camel-jbang':
      return [':'];
    default: {
      const unexpected: never = kind;
      return unexpected;
    }
  }
};
