import { STEPS, type DeploymentPlan } from '../../src/deployments/events.js';

/** A plan for the `billing` project's Node lab, every step included, for deployment tests. */
export const samplePlan: DeploymentPlan = {
  namespace: 'billing-lab',
  strategy: 'configmap_pvc',
  runtime: { kind: 'node', image: 'node:20-slim', command: ['npm', 'start'] },
  configmaps: [{ name: 'code-0', files: 12, bytes: 40_000 }],
  pvcs: [],
  url: 'https://billing.builder.lab.ctoaas.co',
  steps: [...STEPS],
};
