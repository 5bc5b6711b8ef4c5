import test from 'ava';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { ensureTokens, formatConfigError, loadConfig, type ConfigError } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { authenticate, isLoopback, sha256Hex } from '../../src/config/tokens.js';
import { interpolate, interpolateString } from '../../src/config/interpolate.js';

const shipped = (env: NodeJS.ProcessEnv = {}): GatewayConfig => {
  const result = loadConfig({ env });
  if (E.isLeft(result)) throw new Error(formatConfigError(result.left));
  return result.right;
};

const withFile = async (yaml: string, env: NodeJS.ProcessEnv = {}): Promise<E.Either<ConfigError, GatewayConfig>> => {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-config-'));
  const file = join(dir, 'backend.yaml');
  await writeFile(file, yaml);
  return loadConfig({ env: { ...env, GATEWAY_CONFIG: file } });
};

const problemsOf = (result: E.Either<ConfigError, GatewayConfig>): Record<string, string> => {
  if (E.isRight(result)) throw new Error('expected the configuration to be refused');
  return Object.fromEntries(result.left.problems.map(({ path, message }) => [path, message]));
};

test('the shipped file decodes with laptop defaults and the production values the issue lists', (t) => {
  const config = shipped();
  t.is(config.server.host, '127.0.0.1');
  t.is(config.server.port, 8000);
  t.deepEqual(config.event_store, { type: 'embedded', data_dir: './.gateway/events', min_free_bytes: 268435456 });
  t.is(config.data_dir, resolve('.gateway'));
  t.like(config.opencode, {
    cli_path: 'node_modules/.bin/opencode',
    personas_dir: 'config/personas',
    permission_policy: 'workspace',
    max_provider_retries: 3,
  });
  t.is(shipped({ OPENCODE_CLI: '/usr/local/bin/opencode' }).opencode.cli_path, '/usr/local/bin/opencode');
  t.is(config.opencode.sessions_dir, './.gateway/workspace/.opencode-sessions', 'on a laptop, a writable folder');
  t.like(config.workspace, {
    base_path: './.gateway/workspace/.builders',
    repos_root: './.gateway/workspace/repos',
    task_cli: '',
    task_init: 'after_native',
  });
  t.like(
    config.workspace,
    {
      allowed_url_patterns: ['https://', 'ssh://', 'git@'],
      allow_private_addresses: false,
      clone_timeout: 300,
      git_credentials: [],
    },
    'repository URLs: https, ssh and scp-like only, no private addresses',
  );
  const production = shipped({ GATEWAY_WORKSPACE: '/workspace', TASK_CLI: '/usr/local/bin/task' });
  t.is(production.opencode.sessions_dir, '/workspace/.opencode-sessions');
  t.like(production.workspace, {
    base_path: '/workspace/.builders',
    repos_root: '/workspace/repos',
    taskfile_path: '/workspace/Taskfile.yaml',
    task_cli: '/usr/local/bin/task',
  });
  t.is(production.deployment.taskfile_path, '/workspace/Taskfile.yaml');
  t.like(config.kubernetes, {
    namespace_prefix: 'builder',
    service_account: 'gateway-sa',
    ingress_domain: 'builder.lab.ctoaas.co',
    ingress_class: 'nginx',
    cluster_issuer: 'letsencrypt',
    storage_class: '',
  });
  t.is(
    config.kubernetes.bundle_base_url,
    'http://127.0.0.1:8000',
    'lab pods reach a laptop gateway on its own address',
  );
  t.is(
    shipped({ GATEWAY_PUBLIC_URL: 'http://ai-dev-gateway.default.svc:8000' }).kubernetes.bundle_base_url,
    'http://ai-dev-gateway.default.svc:8000',
  );
  t.like(config.deployment, { default_strategy: 'configmap_pvc', max_configmap_size: 1048576, test_timeout: 300 });
  t.deepEqual(config.webhooks, {
    slack_url: '',
    retry_attempts: 3,
    retry_delay: 1000,
    parked_retry_interval: 300,
    parked_retry_for: 86400,
  });
  t.deepEqual(config.auth.tokens, []);
});

test('the contract environment variables override the file', (t) => {
  const config = shipped({
    HOST: '0.0.0.0',
    PORT: '9100',
    GATEWAY_DATA_DIR: '/var/lib/gateway',
    SLACK_WEBHOOK_URL: 'https://hooks.example.com/slack',
    EVENTSTORE_CONNECTION_STRING: 'esdb://db:2113?tls=false',
    GATEWAY_TOKENS: 'slack:operator:slack-token-0123456789,grafana:viewer:viewer-token-0123456789',
    GATEWAY_WEBHOOK_SECRET: 'webhook-secret',
    SLACK_SIGNING_SECRET: 'signing-secret',
    GATEWAY_BUNDLE_SECRET: 'bundle-secret',
    OPENCODE_SERVER_PASSWORD: 'opencode-password',
    KUBECONFIG: '/etc/kube/config',
    GATEWAY_OPENCODE_CONFIG: '{"model":"local/scripted","provider":{"local":{"npm":"x"}}}',
  });
  t.is(config.server.host, '0.0.0.0');
  t.is(config.server.port, 9100);
  t.is(config.data_dir, '/var/lib/gateway');
  t.deepEqual(config.event_store, { type: 'eventstoredb', connection_string: 'esdb://db:2113?tls=false' });
  t.is(config.webhooks.slack_url, 'https://hooks.example.com/slack');
  t.deepEqual(config.secrets, {
    webhookSecret: 'webhook-secret',
    slackSigningSecret: 'signing-secret',
    bundleSecret: 'bundle-secret',
    opencodePassword: 'opencode-password',
  });
  t.is(config.kubeconfig, '/etc/kube/config');
  t.deepEqual(config.opencode.config, { model: 'local/scripted', provider: { local: { npm: 'x' } } });
  t.deepEqual(
    config.auth.tokens.map(({ name, role }) => `${name}:${role}`),
    ['slack:operator', 'grafana:viewer'],
  );
  t.false(JSON.stringify(config.auth).includes('slack-token-0123456789'), 'clear tokens never reach the config object');
  t.deepEqual(authenticate(config.auth.tokens, 'viewer-token-0123456789'), { name: 'grafana', role: 'viewer' });
  t.is(authenticate(config.auth.tokens, 'viewer-token-012345678'), undefined);
});

test('every bad key is named with the reason, unknown keys included', async (t) => {
  const problems = problemsOf(
    await withFile(
      [
        'server: { host: "", port: 70000, body_limit: 0, cors_origins: ["not a url"], colour: blue }',
        'auth: { tokens: [{ name: ops, role: admin, sha256: abc }] }',
        'event_store: { type: embedded }',
        'routing: { auto_confirm_confidence: 1.5 }',
        'opencode: { enabled: true, cli_path: /x, sessions_dir: /y, personas_dir: /p, permission_policy: workspace, max_provider_retries: 3, config: {} }',
        'kubernetes: { namespace_prefix: Builder_, service_account: gateway-sa, ingress_domain: lab.example.com, ingress_class: nginx, cluster_issuer: x, storage_class: "", fetch_image: busybox, bundle_base_url: "http://gw/", bundle_url_ttl: 3600, pods_ready_timeout: 300 }',
        'deployment: { default_strategy: image_build, max_configmap_size: 1048576, test_timeout: 300, taskfile_path: /t, confirmation_timeout: 900, test_url: "" }',
        'workspace: { base_path: /w }',
        'webhooks: { slack_url: "ftp://x", retry_attempts: -1, retry_delay: 1000, parked_retry_interval: 0, parked_retry_for: 86400 }',
        '',
      ].join('\n'),
    ),
  );
  for (const path of [
    'server.host',
    'server.port',
    'server.body_limit',
    'server.cors_origins[0]',
    'server.colour',
    'auth.tokens[0].role',
    'auth.tokens[0].sha256',
    'event_store',
    'routing.auto_confirm_confidence',
    'kubernetes.namespace_prefix',
    'kubernetes.bundle_base_url',
    'deployment.default_strategy',
    'webhooks.slack_url',
    'webhooks.retry_attempts',
    'webhooks.parked_retry_interval',
  ]) {
    t.true(
      path in problems || Object.keys(problems).some((key) => key.startsWith(path)),
      `${path} is named: ${JSON.stringify(problems)}`,
    );
  }
  t.is(problems['server.colour'], 'unknown key');
  t.regex(problems['server.port']!, /0\.\.65535/);
});

test('a missing section is named', async (t) => {
  const problems = problemsOf(await withFile('server: { host: h, port: 1, body_limit: 1, cors_origins: [] }\n'));
  for (const section of [
    'auth',
    'event_store',
    'routing',
    'opencode',
    'kubernetes',
    'deployment',
    'workspace',
    'webhooks',
  ]) {
    t.true(section in problems, section);
  }
});

test('a YAML syntax error names its line and column', async (t) => {
  const result = await withFile('server:\n  host: [unclosed\n');
  t.true(E.isLeft(result));
  if (E.isLeft(result)) t.regex(formatConfigError(result.left), /line \d+, column \d+/);
});

test('an unreadable file is reported, not thrown', (t) => {
  const result = loadConfig({ env: { GATEWAY_CONFIG: '/nonexistent/backend.yaml' } });
  t.true(E.isLeft(result));
  if (E.isLeft(result)) t.regex(formatConfigError(result.left), /cannot read the configuration file: ENOENT/);
});

test('malformed GATEWAY_TOKENS and GATEWAY_OPENCODE_CONFIG are named', (t) => {
  const result = loadConfig({
    env: { GATEWAY_TOKENS: 'justaname,x:root:0123456789abcdefg,y:viewer:short', GATEWAY_OPENCODE_CONFIG: '[1]' },
  });
  const problems = problemsOf(result);
  t.regex(problems['GATEWAY_TOKENS[0]']!, /name:role:token/);
  t.regex(problems['GATEWAY_TOKENS[1]']!, /role/);
  t.regex(problems['GATEWAY_TOKENS[2]']!, /shorter than 16/);
  t.regex(problems['GATEWAY_OPENCODE_CONFIG']!, /JSON object/);
  t.false(JSON.stringify(problems).includes('0123456789abcdefg'), 'a rejected token is not echoed');
});

test('interpolation: set, unset, defaults, escapes', (t) => {
  const env = { A: 'alpha', EMPTY: '' };
  t.is(interpolateString('${A}/x', env), 'alpha/x');
  t.is(interpolateString('${MISSING}', env), '');
  t.is(interpolateString('${MISSING:-fallback}', env), 'fallback');
  t.is(interpolateString('${EMPTY:-fallback}', env), 'fallback');
  t.is(interpolateString('${A:-fallback}', env), 'alpha');
  t.is(interpolateString('$${A}', env), '${A}');
  t.is(interpolateString('${MISSING:-${A}/w}/x', env), 'alpha/w/x', 'a default may hold variables');
  t.is(interpolateString('${MISSING:-${EMPTY:-./d}/w}', env), './d/w');
  t.is(interpolateString('${A:-${MISSING}/w}', env), 'alpha', 'a set variable wins over the whole default');
  t.is(interpolateString('${MISSING:-$${x}}', env), '${x}');
  t.is(interpolateString('${A', env), '${A', 'an unclosed reference stays as written');
  t.is(interpolateString('${MISSING:-${A}', env), '${MISSING:-alpha');
});

test('interpolation: a value that is one reference, nested default or not, keeps the type of its text', (t) => {
  t.deepEqual(
    interpolate({ port: '${PORT:-${DEFAULT_PORT:-8000}}', on: '${ON:-true}', path: '${P:-${A}}/x' }, { A: 'a' }),
    {
      port: 8000,
      on: true,
      path: 'a/x',
    },
  );
});

test('GATEWAY_DATA_DIR alone moves all local state: the workspace and OpenCode state follow it; GATEWAY_WORKSPACE still wins', (t) => {
  const config = shipped({ GATEWAY_DATA_DIR: '/srv/one' });
  t.like(config, {
    data_dir: '/srv/one',
    event_store: { data_dir: '/srv/one/events' },
    opencode: { sessions_dir: '/srv/one/workspace/.opencode-sessions' },
    deployment: { taskfile_path: '/srv/one/workspace/Taskfile.yaml' },
    workspace: {
      base_path: '/srv/one/workspace/.builders',
      repos_root: '/srv/one/workspace/repos',
      taskfile_path: '/srv/one/workspace/Taskfile.yaml',
    },
  });
  const both = shipped({ GATEWAY_DATA_DIR: '/var/lib/gateway', GATEWAY_WORKSPACE: '/workspace' });
  t.like(both, {
    data_dir: '/var/lib/gateway',
    opencode: { sessions_dir: '/workspace/.opencode-sessions' },
    workspace: { base_path: '/workspace/.builders', repos_root: '/workspace/repos' },
  });
});

test('without tokens: loopback gets one generated operator token, any other address is refused', (t) => {
  const local = ensureTokens(shipped());
  t.true(E.isRight(local));
  if (E.isRight(local)) {
    const token = local.right.generatedToken!;
    t.regex(token, /^gw_[A-Za-z0-9_-]{43}$/);
    t.deepEqual(authenticate(local.right.config.auth.tokens, token), { name: 'local-operator', role: 'operator' });
    t.is(local.right.config.auth.tokens[0]!.sha256, sha256Hex(token));
  }
  const open = ensureTokens(shipped({ HOST: '0.0.0.0' }));
  t.true(E.isLeft(open));
  if (E.isLeft(open)) t.regex(open.left, /no API tokens are configured/);
  const configured = ensureTokens(shipped({ HOST: '0.0.0.0', GATEWAY_TOKENS: 'slack:operator:0123456789abcdef0' }));
  t.true(E.isRight(configured) && configured.right.generatedToken === undefined);
});

test('loopback addresses', (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) t.true(isLoopback(host), host);
  for (const host of ['0.0.0.0', '10.0.0.1', '::', 'example.com']) t.false(isLoopback(host), host);
});

test('a webhook URL without GATEWAY_WEBHOOK_SECRET is refused: webhooks are always signed', (t) => {
  const problems = problemsOf(loadConfig({ env: { SLACK_WEBHOOK_URL: 'https://hooks.example.com/slack' } }));
  t.regex(problems['webhooks.slack_url']!, /set GATEWAY_WEBHOOK_SECRET/);
  t.is(
    shipped({ SLACK_WEBHOOK_URL: 'https://hooks.example.com/slack', GATEWAY_WEBHOOK_SECRET: 's' }).webhooks.slack_url,
    'https://hooks.example.com/slack',
  );
});

test('an OpenCode server of its own needs its password; run_as is uid:gid or empty', (t) => {
  const problems = problemsOf(loadConfig({ env: { OPENCODE_URL: 'http://127.0.0.1:4096' } }));
  t.regex(problems['opencode.url']!, /set OPENCODE_SERVER_PASSWORD/);
  const remote = shipped({ OPENCODE_URL: 'http://127.0.0.1:4096', OPENCODE_SERVER_PASSWORD: 'pw' });
  t.is(remote.opencode.url, 'http://127.0.0.1:4096');
  t.is(remote.secrets.opencodePassword, 'pw');
  t.is(shipped().opencode.url, '', 'by default the gateway runs its own');
  t.is(shipped().opencode.run_as, '65534:65534');
  t.is(shipped({ OPENCODE_RUN_AS: '' }).opencode.run_as, '65534:65534', 'empty takes the default');
  t.regex(problemsOf(loadConfig({ env: { OPENCODE_RUN_AS: 'nobody' } }))['opencode.run_as']!, /uid:gid/);
  t.is(shipped({ OPENCODE_RUN_AS: '1500:1500' }).opencode.run_as, '1500:1500');
  t.false(shipped().workspace.group_writable);
  t.true(shipped({ GATEWAY_GROUP_WRITABLE: 'true' }).workspace.group_writable);
});

test('repository URL settings: a pattern for a transport git must never use, or a credential that would put a secret in the file, is named', async (t) => {
  const shippedYaml = readFileSync('config/backend.yaml', 'utf8');
  const problems = problemsOf(
    await withFile(
      shippedYaml
        .replace(/allowed_url_patterns: .*/, 'allowed_url_patterns: ["https://", "file:///", "ext::"]')
        .replace(/clone_timeout: \d+/, 'clone_timeout: 0')
        .replace(
          /git_credentials: \[\]/,
          'git_credentials: [{ host: "git.example.com/x", username: "a:b", password_env: "not a name", password: "inline" }]',
        ),
    ),
  );
  t.regex(problems['workspace.allowed_url_patterns[1]']!, /URL prefix/);
  t.regex(problems['workspace.allowed_url_patterns[2]']!, /URL prefix/);
  t.false('workspace.allowed_url_patterns[0]' in problems);
  t.regex(problems['workspace.clone_timeout']!, /1\.\.86400/);
  t.regex(problems['workspace.git_credentials[0].host']!, /host or host:port/);
  t.regex(problems['workspace.git_credentials[0].username']!, /without a colon/);
  t.regex(problems['workspace.git_credentials[0].password_env']!, /environment variable name/);
  t.is(problems['workspace.git_credentials[0].password'], 'unknown key', 'a password is never written in the file');
});

test('workspace.push is off by default; a compare_url template without {branch}, with another placeholder or not http(s) is named', async (t) => {
  t.false(shipped().workspace.push);
  t.is(shipped().workspace.compare_url, '');
  const shippedYaml = readFileSync('config/backend.yaml', 'utf8');
  const withCompare = (template: string) =>
    withFile(shippedYaml.replace(/push: false/, 'push: true').replace(/compare_url: ""/, `compare_url: "${template}"`));
  const good = await withCompare('https://github.com/acme/{repo}/compare/{branch}');
  t.true(E.isRight(good) && good.right.workspace.push);
  for (const bad of [
    'https://github.com/acme/{repo}/compare',
    'https://github.com/{owner}/{repo}/compare/{branch}',
    'ftp://example.com/{branch}',
  ])
    t.regex(problemsOf(await withCompare(bad))['workspace.compare_url']!, /\{branch\}/, bad);
});
