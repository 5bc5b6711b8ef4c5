import * as t from 'io-ts';

/** The roles of the contract: operator (every command and read), viewer (reads, SSE), auditor (reads, SSE, audit). */
export const Role = t.keyof({ operator: null, viewer: null, auditor: null }, 'operator | viewer | auditor');
export type Role = t.TypeOf<typeof Role>;

const refine = <A>(base: t.Type<A, A, unknown>, ok: (value: A) => boolean, name: string): t.Type<A, A, unknown> =>
  new t.Type<A, A, unknown>(
    name,
    (value): value is A => base.is(value) && ok(value),
    (value, context) => {
      const decoded = base.validate(value, context);
      if (decoded._tag === 'Left') return decoded;
      return ok(decoded.right)
        ? t.success(decoded.right)
        : t.failure(value, context, `expected ${name}, got ${JSON.stringify(decoded.right)}`);
    },
    t.identity,
  );

const intIn = (min: number, max: number, name = `integer ${min}..${max}`) =>
  refine(t.number, (n) => Number.isInteger(n) && n >= min && n <= max, name);
const nonEmpty = refine(t.string, (s) => s.length > 0, 'non-empty string');
const absoluteOrRelativePath = nonEmpty;
const dnsLabel = refine(t.string, (s) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && s.length <= 63, 'DNS-1123 label');
const dnsName = refine(t.string, (s) => /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(s) && s.length <= 253, 'DNS name');
const sha256Hex = refine(t.string, (s) => /^[0-9a-f]{64}$/.test(s), 'SHA-256 as 64 lowercase hex digits');
/** An http(s) URL, or empty for "not configured" (an unset `${SLACK_WEBHOOK_URL}`). */
const optionalUrl = refine(t.string, (s) => s === '' || /^https?:\/\/[^\s]+$/.test(s), 'http(s) URL or empty');
const origin = refine(
  t.string,
  (s) => s === '*' || /^https?:\/\/[^/\s]+$/.test(s),
  'origin like https://host[:port] or *',
);

export const TokenConfig = t.type({ name: nonEmpty, role: Role, sha256: sha256Hex }, 'token');

const ServerConfig = t.type({
  host: nonEmpty,
  port: intIn(0, 65535),
  /** Largest request body in bytes; more is 413. */
  body_limit: intIn(1, 100 * 1024 * 1024),
  cors_origins: t.array(origin),
  /** Requests per minute per token, on every route; more is 429. */
  rate_limit_per_minute: intIn(1, 1_000_000),
  /** Requests per minute per client address without a valid token, on every route but /health (/ready counted apart); more is 429. */
  anonymous_rate_limit_per_minute: intIn(1, 1_000_000),
  /** Bytes of the path; more is 414, before anything parses the request. */
  max_path_length: intIn(1, 65536),
  /** Bytes of the query string; more is 414. */
  max_query_length: intIn(0, 65536),
  /** Query parameters; more is 400. */
  max_query_params: intIn(1, 10_000),
  /** Header fields; more is 431. */
  max_headers: intIn(10, 2000),
  /** How deeply a JSON body may nest; deeper is 400. */
  max_json_depth: intIn(1, 1000),
});

const EventStoreConfig = t.union(
  [
    t.type({
      type: t.literal('embedded'),
      data_dir: absoluteOrRelativePath,
      /** Below this many free bytes on the log's file system new sessions and deployments are refused (503), so work under way can finish. */
      min_free_bytes: intIn(0, Number.MAX_SAFE_INTEGER, 'bytes (integer >= 0)'),
    }),
    t.type({
      type: t.literal('eventstoredb'),
      connection_string: refine(
        t.string,
        (s) => /^(esdb|kurrentdb|kurrent)(\+discover)?:\/\//.test(s),
        'esdb:// connection string',
      ),
    }),
  ],
  'embedded { data_dir, min_free_bytes } | eventstoredb { connection_string }',
);

const RoutingConfig = t.type({
  auto_confirm_confidence: refine(t.number, (n) => n >= 0 && n <= 1, 'number 0..1'),
  /** The weighted terms of the BMAD router, tunable without code. */
  signals_file: nonEmpty,
  /** Labelled tasks the router learns from (a naive Bayes classifier), checked by the signals; none: the signals alone. */
  examples_files: t.array(nonEmpty),
  /** When the configured model gives a second opinion: never, below auto_confirm_confidence, or always. */
  model_assist: t.keyof({ off: null, low_confidence: null, always: null }, 'off | low_confidence | always'),
  /** Milliseconds the model's opinion may take; then the signals' answer stands. */
  model_timeout_ms: intIn(100, 120_000),
});

/** `uid:gid` of the user the agent runs as, or empty. */
const userIds = refine(t.string, (s) => s === '' || /^\d+:\d+$/.test(s), 'uid:gid (numbers) or empty');

const OpenCodeConfig = t.type({
  /** Off: no OpenCode server and no agents (sessions still get workspaces). */
  enabled: t.boolean,
  /** An OpenCode server someone else runs (the sidecar in k8s/); empty: the gateway runs and supervises its own. Its password is OPENCODE_SERVER_PASSWORD. */
  url: optionalUrl,
  /** Whom the gateway's own OpenCode runs as when the gateway runs as root (`uid:gid`); empty keeps root. Not used otherwise. */
  run_as: userIds,
  /** The `opencode` binary; the pinned npm package's by default. */
  cli_path: nonEmpty,
  /** OpenCode's own state (its four XDG folders) lives here, kept across restarts. */
  sessions_dir: nonEmpty,
  /** The personas' prompts and permissions: `<route>.md` with YAML front matter. */
  personas_dir: nonEmpty,
  /** How the agent's permission requests are answered: inside the workspace only, always, or never. */
  permission_policy: t.keyof({ workspace: null, allow: null, reject: null }, 'workspace | allow | reject'),
  /** Provider retries OpenCode may make in one turn before the gateway aborts the turn and reports it. */
  max_provider_retries: intIn(0, 100),
  /** JSON merged into the OpenCode configuration (providers, model); GATEWAY_OPENCODE_CONFIG goes on top. */
  config: t.UnknownRecord,
});

const KubernetesConfig = t.type({
  namespace_prefix: dnsLabel,
  service_account: dnsLabel,
  /** Labs are served at `https://<project>.<ingress_domain>`. */
  ingress_domain: dnsName,
  /** The labs' Ingress class and the cert-manager ClusterIssuer that signs their TLS certificates. */
  ingress_class: dnsName,
  cluster_issuer: dnsName,
  /** The StorageClass of the labs' PVCs; empty: the cluster's default. */
  storage_class: t.string,
  /** The image of the init container that fetches a lab's large files (it needs `sh`, `wget`, `tar`). */
  fetch_image: nonEmpty,
  /** Where lab pods reach the gateway to fetch those files by a signed URL. */
  bundle_base_url: refine(
    t.string,
    (s) => /^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(s) && !s.endsWith('/'),
    'http(s) URL without a trailing slash',
  ),
  /** Seconds a signed bundle URL stays valid. */
  bundle_url_ttl: intIn(60, 7 * 86400),
  /** Seconds the lab's pods may take to become ready before the deployment fails. */
  pods_ready_timeout: intIn(1, 3600),
});

const DeploymentConfig = t.type({
  default_strategy: t.literal('configmap_pvc'),
  max_configmap_size: intIn(1, 1048576 * 3),
  /** Seconds. */
  test_timeout: intIn(1, 86400),
  taskfile_path: nonEmpty,
  /** Seconds a deployment waits for confirmation before it expires. */
  confirmation_timeout: intIn(1, 7 * 86400),
  /**
   * Where tests reach the lab: empty for its ingress URL, or a template with `{namespace}` and
   * `{project}` (e.g. `http://app.{namespace}.svc.cluster.local` from inside the cluster).
   */
  test_url: refine(t.string, (s) => s === '' || /^https?:\/\/\S+$/.test(s), 'empty, or an http(s) URL template'),
});

const urlPattern = refine(
  t.string,
  (s) => /^(https?:\/\/|ssh:\/\/|[A-Za-z0-9_][A-Za-z0-9._-]*@)\S*$/.test(s),
  'a URL prefix: https://…, http://…, ssh://… or user@… (scp-like)',
);
const envName = refine(t.string, (s) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s), 'environment variable name');
const GitCredentialConfig = t.type(
  {
    host: refine(t.string, (s) => /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(s), 'host or host:port'),
    /** Basic authentication cannot carry a colon in the user name. */
    username: refine(t.string, (s) => s.length > 0 && !s.includes(':'), 'user name without a colon'),
    password_env: envName,
  },
  'git credential',
);

/** `{repo}` and `{branch}` are the only placeholders; a compare page without the branch would show nothing of the work. */
const compareUrl = refine(
  t.string,
  (s) =>
    s === '' ||
    (/^https?:\/\/\S+$/.test(s) &&
      s.includes('{branch}') &&
      (s.match(/\{[^}]*\}/g) ?? []).every((p) => p === '{repo}' || p === '{branch}')),
  'empty, or an http(s) URL template with {branch} (and optionally {repo}), no other {placeholder}',
);

const WorkspaceConfig = t.type({
  base_path: nonEmpty,
  /** Where the repositories' own clones live; a repo not there is cloned from its url. */
  repos_root: nonEmpty,
  /** The Taskfile whose `builder:init` prepares a workspace the project's own way. */
  taskfile_path: nonEmpty,
  /** The go-task binary; empty: `task builder:init` is never run. */
  task_cli: t.string,
  /** Run `task builder:init` after the gateway's own worktrees, or instead of them. */
  task_init: t.keyof({ after_native: null, instead_of_native: null }, 'after_native | instead_of_native'),
  /** Seconds `task builder:init` may run before it is stopped and the workspace fails. */
  task_timeout: intIn(1, 3600),
  /** A repository URL (without credentials) must start with one of these: `https://…`, `http://…`, `ssh://…` or scp-like `user@…`. Local folders are allowed only under repos_root, whatever these say. */
  allowed_url_patterns: t.array(urlPattern),
  /** Lets repository URLs reach loopback, private, link-local, CGNAT, ULA, multicast and unspecified addresses (written or resolved). */
  allow_private_addresses: t.boolean,
  /** Seconds one clone may take in all before git and its children are stopped and the workspace fails. */
  clone_timeout: intIn(1, 86400),
  /** Credentials for cloning over http(s), by host (`host` or `host:port`); the password is read from the environment variable named. */
  git_credentials: t.array(GitCredentialConfig),
  /** Push each session's builder branch of a repo given by URL back to that URL, after each agent turn that changed the worktree and before a deployment. */
  push: t.boolean,
  /** Empty, or where a person compares a pushed branch: an http(s) URL template with `{branch}` (and `{repo}`, the session's repo name). */
  compare_url: compareUrl,
  /** The gateway's files are writable by its group (umask 0002): in k8s/ the OpenCode container shares that group and nothing else does. */
  group_writable: t.boolean,
});

/** How the process managers run their reactions. */
const ProcessManagersConfig = t.type({
  /** Reactions doing work at once, per process manager, across aggregates; one aggregate's reactions always run one at a time, in log order. */
  max_concurrency: intIn(1, 256),
});

/** `Idempotency-Key` records, kept beside the log: how long a key answers retries, and how many are kept. */
const IdempotencyConfig = t.type({
  /** Seconds a recorded response is repeated to retries with its key (Stripe's 24 h). */
  ttl: intIn(1, 30 * 24 * 3600),
  /** Keys kept at most; beyond, the oldest go first. */
  max_keys: intIn(1, 10_000_000),
});

const WebhooksConfig = t.type({
  slack_url: optionalUrl,
  retry_attempts: intIn(0, 100),
  /** Milliseconds before the first retry; later retries wait longer. */
  retry_delay: intIn(0, 3_600_000),
  /** Seconds between the scheduled retries of a parked webhook. */
  parked_retry_interval: intIn(1, 7 * 86400),
  /** Seconds from its first parking that a parked webhook is retried on schedule; after that only on request. */
  parked_retry_for: intIn(0, 365 * 86400),
});

export const FileConfig = t.type(
  {
    server: ServerConfig,
    auth: t.type({ tokens: t.array(TokenConfig) }),
    event_store: EventStoreConfig,
    routing: RoutingConfig,
    opencode: OpenCodeConfig,
    kubernetes: KubernetesConfig,
    deployment: DeploymentConfig,
    workspace: WorkspaceConfig,
    webhooks: WebhooksConfig,
    idempotency: IdempotencyConfig,
    process_managers: ProcessManagersConfig,
  },
  'configuration',
);
export type FileConfig = t.TypeOf<typeof FileConfig>;
export type TokenConfig = t.TypeOf<typeof TokenConfig>;

/** Secrets come only from the environment and stay in memory: never in the file, events or logs. */
interface Secrets {
  readonly webhookSecret: string | undefined;
  readonly slackSigningSecret: string | undefined;
  /** Signs the lab bundle URLs; without GATEWAY_BUNDLE_SECRET a random one per start (URLs then die with the process). */
  readonly bundleSecret: string | undefined;
  /** OPENCODE_SERVER_PASSWORD: the password of the OpenCode server at `opencode.url`. */
  readonly opencodePassword: string | undefined;
}

export interface GatewayConfig extends FileConfig {
  /** Where the configuration was read from. */
  readonly source: string;
  /** GATEWAY_DATA_DIR: the default home of everything the gateway keeps. */
  readonly data_dir: string;
  readonly secrets: Secrets;
  readonly kubeconfig: string | undefined;
}
