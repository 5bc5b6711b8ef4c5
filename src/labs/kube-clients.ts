import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import {
  BatchV1Api,
  CoreV1Api,
  createConfiguration,
  KubernetesObjectApi,
  ResponseContext,
  ServerConfiguration,
  type KubeConfig,
  type Middleware,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';

type PlainAgent = http.Agent | https.Agent;

/**
 * The kubeconfig's authentication, with connections kept alive. `@kubernetes/client-node` 1.x
 * makes a new `http(s).Agent` for every request (kubernetes-client/javascript#2893), so no
 * connection is ever reused: against a real API server every call pays a TCP and a TLS
 * handshake. Requests with the same TLS settings share one keep-alive agent instead; a proxy's
 * agent (or anything but a plain one) is left as the library made it.
 */
/** A TLS option as text, for telling settings apart: PEM text, its bytes, or a list of them. */
const pemText = (value: unknown): string => {
  if (Array.isArray(value)) return value.map(pemText).join('\n');
  if (typeof value === 'string' || Buffer.isBuffer(value)) return value.toString();
  return value === undefined || value === null ? '' : JSON.stringify(value);
};

const keepAliveAuthentication = (config: KubeConfig): SecurityAuthentication => {
  const agents = new Map<string, PlainAgent>();
  const shared = (made: PlainAgent): PlainAgent => {
    const options = (made as PlainAgent & { options: https.AgentOptions }).options;
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = options;
    const identity = createHash('sha256')
      .update(
        JSON.stringify([
          made.constructor === https.Agent,
          pemText(ca),
          pemText(cert),
          pemText(key),
          pemText(pfx),
          passphrase ?? '',
          rejectUnauthorized,
          servername,
        ]),
      )
      .digest('hex');
    let agent = agents.get(identity);
    if (!agent) {
      agent =
        made.constructor === https.Agent
          ? new https.Agent({ ...options, keepAlive: true })
          : new http.Agent({ ...options, keepAlive: true });
      agents.set(identity, agent);
    }
    return agent;
  };
  return {
    getName: () => 'kubeconfig',
    async applySecurityAuthentication(context: RequestContext) {
      await config.applySecurityAuthentication(context);
      const made = context.getAgent();
      if (made && (made.constructor === https.Agent || made.constructor === http.Agent)) context.setAgent(shared(made));
    },
  };
};

/**
 * Drops the body of a successful apply, read whole so the connection can serve the next
 * request: the applied object, with its managed fields, that the library would otherwise
 * deserialize into its typed model (about a millisecond of the gateway's one thread per object)
 * for a caller that never looks at it.
 */
const discardAppliedObjects: Middleware = {
  pre: async (context) => context,
  post: async (response) => {
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) return response;
    const text = await response.body.text();
    // The API discovery the library does before an apply (to find the object's path) is kept.
    const kept = (JSON.parse(text) as { kind?: unknown }).kind === 'APIResourceList' ? text : '{}';
    return new ResponseContext(response.httpStatusCode, response.headers, {
      text: async () => kept,
      binary: async () => Buffer.from(kept),
    });
  },
};

/** The object API with the kubeconfig's namespace as the default, as `makeApiClient` sets it up. */
class Applier extends KubernetesObjectApi {
  constructor(configuration: ConstructorParameters<typeof KubernetesObjectApi>[0], config: KubeConfig) {
    super(configuration);
    this.setDefaultNamespace(config);
  }
}

/** The API clients the labs use, on one server, sharing kept-alive connections. */
export const kubeClients = (
  config: KubeConfig,
): { applier: KubernetesObjectApi; core: CoreV1Api; batch: BatchV1Api } => {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  const authMethods = { default: keepAliveAuthentication(config) };
  const baseServer = new ServerConfiguration<Record<string, string>>(cluster.server, {});
  const applier = new Applier(
    createConfiguration({ baseServer, authMethods, promiseMiddleware: [discardAppliedObjects] }),
    config,
  );
  const core = new CoreV1Api(createConfiguration({ baseServer, authMethods }));
  const batch = new BatchV1Api(createConfiguration({ baseServer, authMethods }));
  return { applier, core, batch };
};
