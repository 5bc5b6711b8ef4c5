import { createHash } from 'node:crypto';
import type { RepoFile } from './repo-file.js';
import { codeVolumes, hasLargeFiles, prepareCodeContainer, type CodeSource } from './code-volumes.js';
import { APP_DIR } from './runtime-kind.js';
import type { Runtime } from './runtime.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGER = 'ai-dev-gateway';
const PROJECT_LABEL = 'ai-dev-gateway/project';
const LAB_LABEL = 'ai-dev-gateway/lab';
const DEPLOYMENT_LABEL = 'ai-dev-gateway/deployment';

/** The label selector of one deployment's pods. */
export const podSelectorOf = (project: string, deploymentId: string): string =>
  `${LAB_LABEL}=${project},${DEPLOYMENT_LABEL}=${deploymentId}`;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface LabSettings {
  readonly ingressClass: string;
  /** cert-manager ClusterIssuer of the lab's TLS certificate. */
  readonly clusterIssuer: string;
  readonly storageClass: string | null;
  /** Image of the init container that gathers the code (needs sh, wget, tar, cp). */
  readonly fetchImage: string;
}

export interface LabInput extends CodeSource {
  readonly project: string;
  readonly namespace: string;
  readonly host: string;
  readonly deploymentId: string;
  readonly sessionId: string;
  readonly runtime: Runtime;
  /** The size (GiB) the lab's PVC already has, if it exists: the new request is never smaller. */
  readonly pvcHeldGi?: number;
}

export type ApplyStep = 'namespace' | 'rbac' | 'configmaps' | 'pvcs' | 'manifests' | 'ingress';
export const APPLY_STEPS: readonly ApplyStep[] = ['namespace', 'rbac', 'configmaps', 'pvcs', 'manifests', 'ingress'];

const byPath = (a: RepoFile, b: RepoFile): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * SHA-256 hex of files, in path order. Each file is framed by its path, its exec bit and its
 * length, so no two different sets of files share a digest; the exec bit counts because the
 * PVC's bundle carries it.
 */
export const codeDigest = (files: readonly RepoFile[]): string => {
  const hash = createHash('sha256');
  for (const file of [...files].sort(byPath)) {
    hash.update(`${file.path}\0${file.executable ? 'x' : '-'}${file.content.length}\0`);
    hash.update(file.content);
  }
  return hash.digest('hex');
};

const GiB = 1024 ** 3;

/** Labels of every object: who manages it and for which project. */
const labelsOf = (input: LabInput): Record<string, string> => ({
  [MANAGED_BY_LABEL]: MANAGER,
  [PROJECT_LABEL]: input.project,
});

const namespaced = (
  input: LabInput,
  apiVersion: string,
  kind: string,
  name: string,
  fields: Record<string, unknown>,
): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: input.namespace, labels: labelsOf(input) },
  ...fields,
});

const namespaceObjects = (input: LabInput): KubeObject[] => [
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: input.namespace,
      labels: labelsOf(input),
      annotations: { 'ai-dev-gateway/session': input.sessionId, 'ai-dev-gateway/deployment': input.deploymentId },
    },
  },
];

const rbacObjects = (input: LabInput): KubeObject[] => [
  namespaced(input, 'v1', 'ServiceAccount', 'lab', {}),
  namespaced(input, 'rbac.authorization.k8s.io/v1', 'Role', 'lab', {
    rules: [
      {
        apiGroups: [''],
        resources: ['pods', 'pods/log', 'services', 'endpoints', 'configmaps'],
        verbs: ['get', 'list', 'watch'],
      },
    ],
  }),
  namespaced(input, 'rbac.authorization.k8s.io/v1', 'RoleBinding', 'lab', {
    subjects: [{ kind: 'ServiceAccount', name: 'lab', namespace: input.namespace }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'lab' },
  }),
  namespaced(input, 'v1', 'ResourceQuota', 'lab-quota', {
    spec: {
      hard: {
        'requests.cpu': '2',
        'requests.memory': '4Gi',
        'limits.cpu': '4',
        'limits.memory': '8Gi',
        pods: '10',
        persistentvolumeclaims: '5',
        'requests.storage': '20Gi',
      },
    },
  }),
  namespaced(input, 'v1', 'LimitRange', 'lab-limits', {
    spec: {
      limits: [
        { type: 'Container', default: { cpu: '1', memory: '1Gi' }, defaultRequest: { cpu: '100m', memory: '256Mi' } },
      ],
    },
  }),
];

const configMapObjects = (input: LabInput): KubeObject[] => {
  const contents = new Map(input.files.map((file) => [file.path, file]));
  return input.configmaps.map((bundle) => {
    const data: Record<string, string> = {};
    const binaryData: Record<string, string> = {};
    for (const entry of bundle.files) {
      const file = contents.get(entry.path);
      if (!file) throw new Error(`bundle ${bundle.name} names ${entry.path}, which is not among the files`);
      if (entry.binary) binaryData[entry.key] = file.content.toString('base64');
      else data[entry.key] = file.content.toString('utf8');
    }
    return namespaced(input, 'v1', 'ConfigMap', bundle.name, {
      ...(Object.keys(data).length > 0 ? { data } : {}),
      ...(Object.keys(binaryData).length > 0 ? { binaryData } : {}),
    });
  });
};

const pvcObjects = (input: LabInput, settings: LabSettings): KubeObject[] => {
  if (!hasLargeFiles(input)) return [];
  // Twice the files' size, in whole Gi: headroom for the file system and for the files to grow.
  // A PVC never shrinks: a real API server refuses a smaller request than the one it holds.
  const gibibytes = Math.max(1, Math.ceil((input.pvc.bytes * 2) / GiB), input.pvcHeldGi ?? 0);
  return [
    namespaced(input, 'v1', 'PersistentVolumeClaim', input.pvc.name, {
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: `${gibibytes}Gi` } },
        ...(settings.storageClass === null ? {} : { storageClassName: settings.storageClass }),
      },
    }),
  ];
};

/** The container that runs the lab's code from `APP_DIR`. */
const appContainer = (runtime: Runtime): Record<string, unknown> => ({
  name: 'app',
  image: runtime.image,
  command: [...runtime.command],
  workingDir: APP_DIR,
  // PORT is what the probe and the Service use, so the runtime's env cannot move it.
  env: [
    ...Object.entries(runtime.env)
      .filter(([name]) => name !== 'PORT')
      .map(([name, value]) => ({ name, value })),
    { name: 'PORT', value: String(runtime.port) },
  ],
  ports: [{ name: 'http', containerPort: runtime.port }],
  readinessProbe: { httpGet: { path: runtime.healthPath, port: runtime.port } },
  volumeMounts: [{ name: 'app', mountPath: APP_DIR }],
  resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
});

const deploymentObject = (input: LabInput, settings: LabSettings): KubeObject => {
  const large = hasLargeFiles(input);
  if (large && !input.bundle)
    throw new Error(`the PVC ${input.pvc.name} has files but the lab has no bundle URL to fetch them from`);
  const { volumes, prepareMounts } = codeVolumes(input, 'pvc');
  // The deployment's id marks its own pods (not the selector, which cannot change): the readiness watch waits for those, not for a previous deployment's.
  const podLabels = { ...labelsOf(input), [LAB_LABEL]: input.project, [DEPLOYMENT_LABEL]: input.deploymentId };
  return namespaced(input, 'apps/v1', 'Deployment', 'app', {
    spec: {
      replicas: 1,
      selector: { matchLabels: { [LAB_LABEL]: input.project } },
      // A ReadWriteOnce claim may be attached to one node only: the old pod must go first.
      ...(large ? { strategy: { type: 'Recreate' } } : {}),
      template: {
        metadata: { labels: podLabels, annotations: { 'ai-dev-gateway/code-sha256': codeDigest(input.files) } },
        spec: {
          serviceAccountName: 'lab',
          volumes,
          initContainers: [prepareCodeContainer(input, settings.fetchImage, prepareMounts)],
          containers: [appContainer(input.runtime)],
        },
      },
    },
  });
};

const manifestObjects = (input: LabInput, settings: LabSettings): KubeObject[] => [
  deploymentObject(input, settings),
  namespaced(input, 'v1', 'Service', 'app', {
    spec: {
      selector: { [LAB_LABEL]: input.project },
      ports: [{ name: 'http', port: 80, targetPort: input.runtime.port }],
    },
  }),
];

const ingressObjects = (input: LabInput, settings: LabSettings): KubeObject[] => [
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: 'app',
      namespace: input.namespace,
      labels: labelsOf(input),
      annotations: { 'cert-manager.io/cluster-issuer': settings.clusterIssuer },
    },
    spec: {
      ingressClassName: settings.ingressClass,
      tls: [{ hosts: [input.host], secretName: `${input.project}-lab-tls` }],
      rules: [
        {
          host: input.host,
          http: {
            paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app', port: { number: 80 } } } }],
          },
        },
      ],
    },
  },
];

/**
 * The Kubernetes objects of a lab, per deployment step. Pure: the same input always gives the
 * same objects, so re-applying a step converges instead of rolling the pod.
 */
export const labObjects = (input: LabInput, settings: LabSettings): Record<ApplyStep, KubeObject[]> => ({
  namespace: namespaceObjects(input),
  rbac: rbacObjects(input),
  configmaps: configMapObjects(input),
  pvcs: pvcObjects(input, settings),
  manifests: manifestObjects(input, settings),
  ingress: ingressObjects(input, settings),
});
