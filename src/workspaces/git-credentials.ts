import { inspect } from 'node:util';

/** A `workspace.git_credentials` entry: the password is the value of an environment variable (a Kubernetes Secret), never in the file. */
export interface GitCredentialConfig {
  readonly host: string;
  readonly username: string;
  readonly password_env: string;
}

/**
 * The Basic authorization for one host, read from the environment at start-up and kept only in
 * memory: printing, logging or serialising it shows the host alone.
 */
export class GitCredential {
  readonly #authorization: string;
  constructor(
    readonly host: string,
    username: string,
    password: string,
  ) {
    this.#authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }
  /** The header git sends, as a config value: `Authorization: Basic …`. */
  header(): string {
    return `Authorization: ${this.#authorization}`;
  }
  toJSON(): object {
    return { host: this.host, authorization: '(set)' };
  }
  [inspect.custom](): string {
    return `GitCredential(${this.host})`;
  }
}

/** Each entry's password from its variable; a variable unset or empty stops start-up, naming the entry. */
export const loadGitCredentials = (entries: readonly GitCredentialConfig[], env: NodeJS.ProcessEnv): GitCredential[] =>
  entries.map((entry, index) => {
    const password = env[entry.password_env];
    if (!password)
      throw new Error(
        `workspace.git_credentials[${index}].password_env: the environment variable ${entry.password_env} is not set`,
      );
    return new GitCredential(entry.host.toLowerCase(), entry.username, password);
  });

/**
 * Git configuration, given through the environment (GIT_CONFIG_COUNT/KEY/VALUE, see
 * `gitEnvironment`), that sends the credential's header to `<scheme>://<host>/` only: never on a
 * command line, where any user of the machine could read it, nor in a URL that git might print.
 */
export const credentialConfig = (
  credential: GitCredential | undefined,
  scheme: 'https' | 'http',
  hostPort: string,
): readonly (readonly [string, string])[] =>
  credential === undefined ? [] : [[`http.${scheme}://${hostPort}/.extraHeader`, credential.header()]];
