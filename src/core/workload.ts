/**
 * Where the pod template sits in each workload kind, so that one plan and one patch serve a bare
 * Pod, a Deployment and a CronJob alike.
 */
import { isObject, objectAt } from './json';
import { PodLike } from './plan';

/** JSON Pointer of the pod template, by `apiVersion/kind`'s kind. Empty for a Pod itself. */
const POD_TEMPLATE_PATHS: Record<string, string> = {
  Pod: '',
  PodTemplate: '/template',
  Deployment: '/spec/template',
  StatefulSet: '/spec/template',
  DaemonSet: '/spec/template',
  ReplicaSet: '/spec/template',
  ReplicationController: '/spec/template',
  Job: '/spec/template',
  CronJob: '/spec/jobTemplate/spec/template',
};

/** API groups whose kinds above are the Kubernetes built-ins (a CRD named `Deployment` is not). */
const BUILT_IN_GROUPS = new Set(['v1', 'apps/v1', 'batch/v1', 'apps/v1beta1', 'apps/v1beta2', 'extensions/v1beta1', 'batch/v1beta1']);

/** The kinds that carry a pod template. */
export const WORKLOAD_KINDS: readonly string[] = Object.keys(POD_TEMPLATE_PATHS);

/** A workload's pod template and where it sits. */
export interface PodTemplateLocation {
  /** JSON Pointer of the template inside the object. */
  readonly path: string;
  readonly template: PodLike;
}

/**
 * Finds the pod template of a Kubernetes object.
 * @returns undefined for objects that are not built-in workloads or whose template is missing
 */
export function podTemplateOf(object: unknown): PodTemplateLocation | undefined {
  if (!isObject(object) || typeof object.kind !== 'string' || typeof object.apiVersion !== 'string') return undefined;
  if (!BUILT_IN_GROUPS.has(object.apiVersion)) return undefined;
  const path = POD_TEMPLATE_PATHS[object.kind];
  if (path === undefined) return undefined;
  let node: unknown = object;
  for (const token of path.split('/').slice(1)) node = objectAt(node)?.[token];
  return isObject(node) ? { path, template: node } : undefined;
}

/** `Deployment 'web'` or `Deployment 'web' in namespace 'ml'`: how messages name an object. */
export function describeObject(object: unknown): string {
  const o = objectAt(object);
  const metadata = objectAt(o?.metadata);
  const kind = typeof o?.kind === 'string' ? o.kind : 'object';
  const name = typeof metadata?.name === 'string' ? metadata.name : typeof metadata?.generateName === 'string' ? `${metadata.generateName}*` : '(unnamed)';
  const namespace = typeof metadata?.namespace === 'string' ? ` in namespace '${metadata.namespace}'` : '';
  return `${kind} '${name}'${namespace}`;
}
