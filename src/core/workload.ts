/**
 * Where the pod template sits in each workload kind, so that one plan and one patch serve a bare
 * Pod, a Deployment and a CronJob alike.
 */
import { isObject, objectAt } from './json';
import { ANNOTATION_PREFIX } from './names';
import { PodLike, UnhonouredAnnotations } from './plan';

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

/**
 * `cdk8s-shm.io/` annotations on a workload's own metadata (or a CronJob's job template's) that its
 * pod template does not carry. Only the pod template reaches the pods, so no way in reads them
 * there (cdk8s-plus's `metadata` and `podMetadata` are easy to mix up). The ways in that see the
 * workload report them: `check` fails, `plan`, `inject` and `applyToChart` warn, `addTo` refuses.
 * The webhook and the admission policy see pods only, which never carry them.
 * @returns undefined when there are none (or the object is a Pod, whose metadata is its template's)
 */
export function misplacedAnnotations(object: unknown): UnhonouredAnnotations | undefined {
  const location = podTemplateOf(object);
  if (!location || location.path === '') return undefined;
  const onTemplate = objectAt(objectAt(location.template.metadata)?.annotations) ?? {};
  const kind = String(objectAt(object)?.kind);
  const places = [{ metadata: objectAt(object)?.metadata, where: `the ${kind}'s own metadata` }];
  if (kind === 'CronJob') places.push({ metadata: objectAt(objectAt(objectAt(object)?.spec)?.jobTemplate)?.metadata, where: "the CronJob's job template metadata" });
  const found = places.flatMap(({ metadata, where }) => {
    const annotations = objectAt(objectAt(metadata)?.annotations) ?? {};
    const keys = Object.keys(annotations).filter(key => key.startsWith(ANNOTATION_PREFIX) && onTemplate[key] !== annotations[key]);
    return keys.length > 0 ? [{ keys, where }] : [];
  });
  if (found.length === 0) return undefined;
  const annotations = found.flatMap(f => f.keys);
  const field = `${location.path.slice(1).replace(/\//g, '.')}.metadata.annotations`;
  const what = found.map(f => `${f.keys.join(', ')} on ${f.where}`).join(' and ');
  return {
    annotations,
    message: `annotation${annotations.length === 1 ? '' : 's'} ${what} ${annotations.length === 1 ? 'reaches' : 'reach'} no pod: move `
      + `${annotations.length === 1 ? 'it' : 'them'} to ${field}`,
  };
}
