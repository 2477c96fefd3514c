/**
 * Where the pod template sits in each workload kind, so that one plan and one patch serve a bare
 * Pod, a Deployment and a CronJob alike.
 */
import { isObject, objectAt } from './json';
import { PodLike } from './plan';

/**
 * JSON Pointer of the pod template by kind (empty for a Pod itself), and the apiVersions in which
 * that kind is the Kubernetes built-in: a CRD named `Deployment`, or `v1/Deployment`, is not.
 * The beta versions are long gone from servers but still appear in old manifests.
 */
const POD_TEMPLATE_PATHS: Record<string, { path: string; apiVersions: readonly string[] }> = {
  Pod: { path: '', apiVersions: ['v1'] },
  PodTemplate: { path: '/template', apiVersions: ['v1'] },
  ReplicationController: { path: '/spec/template', apiVersions: ['v1'] },
  Deployment: { path: '/spec/template', apiVersions: ['apps/v1', 'apps/v1beta1', 'apps/v1beta2', 'extensions/v1beta1'] },
  StatefulSet: { path: '/spec/template', apiVersions: ['apps/v1', 'apps/v1beta1', 'apps/v1beta2'] },
  DaemonSet: { path: '/spec/template', apiVersions: ['apps/v1', 'apps/v1beta2', 'extensions/v1beta1'] },
  ReplicaSet: { path: '/spec/template', apiVersions: ['apps/v1', 'apps/v1beta2', 'extensions/v1beta1'] },
  Job: { path: '/spec/template', apiVersions: ['batch/v1'] },
  CronJob: { path: '/spec/jobTemplate/spec/template', apiVersions: ['batch/v1', 'batch/v1beta1'] },
};

/** The kinds that carry a pod template. */
export const WORKLOAD_KINDS: readonly string[] = Object.keys(POD_TEMPLATE_PATHS);

/** Whether objects of this apiVersion and kind are built-in workloads with a pod template. */
export function hasPodTemplate(apiVersion: string, kind: string): boolean {
  return Object.prototype.hasOwnProperty.call(POD_TEMPLATE_PATHS, kind) && POD_TEMPLATE_PATHS[kind].apiVersions.includes(apiVersion);
}

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
  // Own properties only: a kind such as `constructor` or `toString` must not find an inherited member.
  if (!Object.prototype.hasOwnProperty.call(POD_TEMPLATE_PATHS, object.kind)) return undefined;
  const { path, apiVersions } = POD_TEMPLATE_PATHS[object.kind];
  if (!apiVersions.includes(object.apiVersion)) return undefined;
  let node: unknown = object;
  for (const token of path.split('/').slice(1)) node = objectAt(node)?.[token];
  return isObject(node) ? { path, template: node } : undefined;
}

/**
 * `Deployment 'web'` or `Deployment 'web' in namespace 'ml'`: how messages name an object.
 * @param withNamespace whether to say the namespace (messages that say it themselves leave it out)
 */
export function describeObject(object: unknown, withNamespace = true): string {
  const o = objectAt(object);
  const metadata = objectAt(o?.metadata);
  const kind = typeof o?.kind === 'string' ? o.kind : 'object';
  const name = typeof metadata?.name === 'string' ? metadata.name : typeof metadata?.generateName === 'string' ? `${metadata.generateName}*` : '(unnamed)';
  const namespace = withNamespace && typeof metadata?.namespace === 'string' ? ` in namespace '${metadata.namespace}'` : '';
  return `${kind} '${name}'${namespace}`;
}
