/**
 * Pod Security Standards as far as the agent needs them: which namespaces of the app would reject
 * a pod that uses a hostPath volume, `hostIPC` or a privileged container, and what to tell the user.
 *
 * All three are forbidden from `baseline` up, so only `privileged` admits them. With the CSI
 * delivery only the agent's own namespace (the privileged node plugin) and, with System V sharing,
 * the namespaces of the shared workloads (hostIPC) need it; an inline csi volume is allowed even
 * by `restricted`. We can only see namespaces created in the same app; a namespace created
 * elsewhere is the operator's to label (the README says how).
 */
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { objectAt, stringAt } from '../../core';

/** The Pod Security admission labels (Kubernetes names, not ours). */
export const PSS_ENFORCE = 'pod-security.kubernetes.io/enforce';
export const PSS_WARN = 'pod-security.kubernetes.io/warn';
export const PSS_AUDIT = 'pod-security.kubernetes.io/audit';

/** Levels that forbid hostPath volumes, hostIPC and privileged containers. */
const FORBIDDING_LEVELS = ['baseline', 'restricted'];

/**
 * The `enforce` level of the namespace `name` when the app creates it with a level that would
 * reject hostPath and hostIPC; undefined when it allows them or the app does not create it.
 */
export function forbiddingLevel(root: IConstruct, name: string): string | undefined {
  for (const construct of root.node.findAll()) {
    if (!ApiObject.isApiObject(construct) || construct.kind !== 'Namespace' || construct.apiVersion !== 'v1') continue;
    let json: unknown;
    try {
      json = construct.toJson();
    } catch {
      continue;
    }
    const metadata = objectAt(objectAt(json)?.metadata);
    if (stringAt(metadata?.name) !== name) continue;
    const level = stringAt(objectAt(metadata?.labels)?.[PSS_ENFORCE]);
    if (level !== undefined && FORBIDDING_LEVELS.includes(level)) return level;
  }
  return undefined;
}

/**
 * Why a namespace's level refuses what the agent needs, and the fix.
 * @param needs what the pods there need, e.g. `['hostIPC']` (nothing: no error is due)
 * @param fix how to do without, when there is a way (`turn 'systemV' off`)
 */
export function namespaceLevelError(
  subject: string, namespace: string, level: string, needs: readonly string[], agent: string, fix?: string,
): string {
  const what = needs.length > 1 ? `${needs.slice(0, -1).join(', ')} and ${needs[needs.length - 1]}` : needs[0];
  return `${subject} is in namespace '${namespace}', whose Pod Security level '${level}' (label ${PSS_ENFORCE}) forbids ${what} `
    + `that ${agent} needs: label namespace '${namespace}' ${PSS_ENFORCE}=privileged (keep ${PSS_WARN} and ${PSS_AUDIT} at baseline)`
    + (fix ? `, or ${fix}` : '');
}
