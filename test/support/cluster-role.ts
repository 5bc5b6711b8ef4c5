import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

interface Rule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** Each kind the gateway calls, with its API group and resource, as RBAC names them. */
const RESOURCE_OF: Record<string, { group: string; resource: string }> = {
  Namespace: { group: '', resource: 'namespaces' },
  ConfigMap: { group: '', resource: 'configmaps' },
  PersistentVolumeClaim: { group: '', resource: 'persistentvolumeclaims' },
  Service: { group: '', resource: 'services' },
  ServiceAccount: { group: '', resource: 'serviceaccounts' },
  Pod: { group: '', resource: 'pods' },
  'pods/log': { group: '', resource: 'pods/log' },
  ResourceQuota: { group: '', resource: 'resourcequotas' },
  LimitRange: { group: '', resource: 'limitranges' },
  Deployment: { group: 'apps', resource: 'deployments' },
  Job: { group: 'batch', resource: 'jobs' },
  Ingress: { group: 'networking.k8s.io', resource: 'ingresses' },
  Role: { group: 'rbac.authorization.k8s.io', resource: 'roles' },
  RoleBinding: { group: 'rbac.authorization.k8s.io', resource: 'rolebindings' },
};

/** The verbs an HTTP method may be, to RBAC (a GET is get, list or watch). */
const VERBS_OF: Record<string, readonly string[]> = {
  GET: ['get', 'list', 'watch'],
  POST: ['create'],
  PATCH: ['patch'],
  PUT: ['update'],
  DELETE: ['delete'],
};

/**
 * The calls (`METHOD Kind`, as the fake API server counts them) that the gateway's ClusterRole in
 * `k8s/clusterrole.yaml` would refuse: what a real cluster would answer 403.
 */
export const refusedByClusterRole = (calls: Iterable<string>): string[] => {
  const role = parse(readFileSync(join(process.cwd(), 'k8s', 'clusterrole.yaml'), 'utf8')) as { rules: Rule[] };
  return [...calls].filter((call) => {
    const [method, kind] = call.split(' ') as [string, string];
    const target = RESOURCE_OF[kind];
    if (!target) return true;
    return !role.rules.some(
      (rule) =>
        rule.apiGroups.includes(target.group) &&
        rule.resources.includes(target.resource) &&
        (VERBS_OF[method] ?? []).some((verb) => rule.verbs.includes(verb)),
    );
  });
};
