/**
 * Names the cluster itself owns, and what a construct must do around them.
 */
import { ApiObjectProps } from 'cdk8s';
import { propLabel } from './language-names';

/**
 * Namespaces the cluster itself owns. A construct that creates its namespace labels it for Pod
 * Security; applied to one of these, that Namespace object relabels the real one (`kube-system`
 * labelled `restricted` stops new kube-proxy, CNI and CSI pods; `default` would be excluded from
 * the webhook), so a created namespace must never be one of them.
 */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'default'];

/**
 * Throws unless `namespace` may be created by a construct.
 * @param prop the prop that named the namespace
 * @param createProp the prop that asks for the namespace to be created
 */
export function checkCreatedNamespace(namespace: string, prop: string, createProp: string, subject: string): void {
  if (SYSTEM_NAMESPACES.includes(namespace)) {
    throw new Error(`'${prop}' (${namespace}) of ${subject} is a namespace the cluster owns, and ${propLabel(createProp)} would relabel it: `
      + `choose a namespace of its own, or set ${propLabel(createProp)} to false to deploy into the existing one unchanged`);
  }
}

/**
 * Priority classes every cluster defines. Some clusters (GKE among them; Flux, Gatekeeper and
 * Cilium met it) admit pods of these classes outside `kube-system` only in a namespace that has a
 * ResourceQuota for the class, and refuse the others with "insufficient quota to match these
 * scopes"; under `failurePolicy: Ignore` a webhook refused that way silently never runs.
 */
export const SYSTEM_PRIORITY_CLASSES: readonly string[] = ['system-cluster-critical', 'system-node-critical'];

/**
 * The ResourceQuota that lets `namespace` hold pods of `priorityClassName`, or undefined when
 * none is needed (another class, or kube-system). The quota is there to allow the class, not to
 * limit it: `pods` is far above what the workload runs.
 */
export function priorityClassQuota(
  name: string, namespace: string, priorityClassName: string, pods: number, labels?: Record<string, string>,
): ApiObjectProps | undefined {
  if (!SYSTEM_PRIORITY_CLASSES.includes(priorityClassName) || namespace === 'kube-system') return undefined;
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: `${name}-critical-pods`, namespace, ...(labels ? { labels } : {}) },
    spec: {
      hard: { pods: String(pods) },
      scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: [priorityClassName] }] },
    },
  };
}
