import type { Step } from './events.js';

/**
 * The deployment's status machine as the contract names it: awaiting_confirmation → confirmed →
 * deploying → testing → succeeded | failed; rejected and expired end it early. The decider's
 * state, the view, the list filter, the webhooks and the OpenAPI enum all take it from here.
 */
export const DEPLOYMENT_STATUSES = [
  'awaiting_confirmation',
  'confirmed',
  'deploying',
  'testing',
  'succeeded',
  'failed',
  'rejected',
  'expired',
] as const;

export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

const RUNNING: ReadonlySet<DeploymentStatus> = new Set(['confirmed', 'deploying', 'testing']);

/** Confirmed and not yet ended: the deployment holds its lab, and its executor works. */
export const isRunning = (status: DeploymentStatus): boolean => RUNNING.has(status);

export const isDeploymentStatus = (value: unknown): value is DeploymentStatus =>
  typeof value === 'string' && (DEPLOYMENT_STATUSES as readonly string[]).includes(value);

/** The status a step puts the deployment in when it starts. */
export const statusAtStep = (step: Step): 'deploying' | 'testing' => (step === 'tests' ? 'testing' : 'deploying');
