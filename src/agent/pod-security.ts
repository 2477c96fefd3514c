/**
 * Pod Security Standards as far as the agent needs them: which namespaces of the app would reject
 * a pod that uses a hostPath volume or `hostIPC`.
 *
 * Both are forbidden from `baseline` up, so only `privileged` admits the agent and the pods that
 * share with it. We can only see namespaces created in the same app; a namespace created elsewhere
 * is the operator's to label (the README says how).
 */
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { objectAt, stringAt } from '../core';

/** The Pod Security admission labels (Kubernetes names, not ours). */
export const PSS_ENFORCE = 'pod-security.kubernetes.io/enforce';
export const PSS_WARN = 'pod-security.kubernetes.io/warn';
export const PSS_AUDIT = 'pod-security.kubernetes.io/audit';

/** Levels that forbid hostPath volumes and hostIPC. */
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
