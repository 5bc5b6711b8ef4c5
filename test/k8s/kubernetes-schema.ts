import * as k8s from '@kubernetes/client-node';

/** The kinds the gateway's manifests use, with their API version and client model. */
export const KINDS: Record<string, { apiVersion: string; model: string }> = {
  ServiceAccount: { apiVersion: 'v1', model: 'V1ServiceAccount' },
  Service: { apiVersion: 'v1', model: 'V1Service' },
  ConfigMap: { apiVersion: 'v1', model: 'V1ConfigMap' },
  Secret: { apiVersion: 'v1', model: 'V1Secret' },
  PersistentVolumeClaim: { apiVersion: 'v1', model: 'V1PersistentVolumeClaim' },
  Deployment: { apiVersion: 'apps/v1', model: 'V1Deployment' },
  ClusterRole: { apiVersion: 'rbac.authorization.k8s.io/v1', model: 'V1ClusterRole' },
  ClusterRoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', model: 'V1ClusterRoleBinding' },
};

interface Attribute {
  readonly baseName: string;
  readonly type: string;
}
type Model = { getAttributeTypeMap(): Attribute[] };

const modelOf = (name: string): Model | undefined => {
  const candidate = (k8s as unknown as Record<string, unknown>)[name];
  return candidate && typeof (candidate as Model).getAttributeTypeMap === 'function' ? (candidate as Model) : undefined;
};

/**
 * Checks a manifest against the Kubernetes API's own types, as the client library models them:
 * every field must exist at its depth (a typo is an error, as with `kubectl --validate=strict`)
 * and hold a value of its type. Returns one line per problem.
 */
export const validateManifest = (manifest: unknown): string[] => {
  if (!isObject(manifest)) return ['a manifest must be an object'];
  const kind = manifest['kind'];
  const known = typeof kind === 'string' ? KINDS[kind] : undefined;
  if (!known) return [`unknown kind ${String(kind)}`];
  if (manifest['apiVersion'] !== known.apiVersion)
    return [`${kind} needs apiVersion ${known.apiVersion}, not ${String(manifest['apiVersion'])}`];
  return check(manifest, known.model, kind as string);
};

const check = (value: unknown, type: string, path: string): string[] => {
  if (value === null || value === undefined) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array)
    return Array.isArray(value)
      ? value.flatMap((item, i) => check(item, array[1]!, `${path}[${i}]`))
      : [`${path}: expected a list`];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map)
    return isObject(value)
      ? Object.entries(value).flatMap(([key, item]) => check(item, map[1]!, `${path}.${key}`))
      : [`${path}: expected a map`];
  switch (type) {
    case 'string':
      return typeof value === 'string' ? [] : [`${path}: expected a string, got ${typeof value}`];
    case 'number':
      return typeof value === 'number' ? [] : [`${path}: expected a number, got ${typeof value}`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: expected a boolean, got ${typeof value}`];
    case 'IntOrString':
      return typeof value === 'string' || typeof value === 'number' ? [] : [`${path}: expected an integer or a string`];
    case 'Date':
      return typeof value === 'string' ? [] : [`${path}: expected a time`];
    case 'any':
    case 'object':
      return [];
  }
  const model = modelOf(type);
  if (!model) return [`${path}: no model for type ${type}`];
  if (!isObject(value)) return [`${path}: expected an object (${type})`];
  const attributes = new Map(model.getAttributeTypeMap().map((attribute) => [attribute.baseName, attribute.type]));
  return Object.entries(value).flatMap(([key, item]) => {
    const attributeType = attributes.get(key);
    return attributeType === undefined
      ? [`${path}.${key}: unknown field of ${type}`]
      : check(item, attributeType, `${path}.${key}`);
  });
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
