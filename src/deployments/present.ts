import type { NamespaceView } from '../labs/namespace-view.js';
import type { DeploymentView } from './deployment-view.js';

/** A deployment as it is shown: a lab deleted since (or being deleted) has no URL any more. */
export const presentWithLabs =
  (namespaces: { get(name: string): NamespaceView | undefined }) =>
  (view: DeploymentView): DeploymentView =>
    view.url !== null && namespaces.get(view.plan.namespace)?.status !== 'live' ? { ...view, url: null } : view;
