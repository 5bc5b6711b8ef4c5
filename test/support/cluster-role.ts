import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { resourceOf } from './fake-kube.js';

interface Rule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** The API group and resource RBAC names for a call's kind (as the fake API server counts it). */
const targetOf = (kind: string): { group: string; resource: string } =>
  kind === 'pods/log'
    ? { group: '', resource: 'pods/log' }
    : { group: resourceOf(kind).group, resource: resourceOf(kind).plural };

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
    const target = targetOf(kind);
    return !role.rules.some(
      (rule) =>
        rule.apiGroups.includes(target.group) &&
        rule.resources.includes(target.resource) &&
        (VERBS_OF[method] ?? []).some((verb) => rule.verbs.includes(verb)),
    );
  });
};
