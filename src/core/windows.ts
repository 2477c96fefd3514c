/**
 * Whether a pod runs on Windows, where there is no `/dev/shm` and a memory-backed emptyDir is not
 * supported: a pod that got one could not start.
 *
 * `spec.os.name` is the explicit answer, but many charts never set it and rely on scheduling
 * instead (kube-prometheus-stack's windows-exporter selects `kubernetes.io/os: windows` and runs
 * `hostProcess` containers). So a pod is Windows when any of these says so.
 */
import { JsonObject, isObject, objectAt } from './json';

/** The well-known node label of the operating system (and its pre-1.14 spelling, still in old charts). */
export const OS_LABELS: readonly string[] = ['kubernetes.io/os', 'beta.kubernetes.io/os'];
/** The value of `spec.os.name` and of the OS labels on Windows. */
export const WINDOWS = 'windows';
/** The containers whose security context may ask for a Windows hostProcess, besides the pod's own. */
export const HOST_PROCESS_CONTAINER_FIELDS: readonly string[] = ['containers', 'initContainers', 'ephemeralContainers'];

/**
 * Why the pod is a Windows pod, or undefined when nothing says it is.
 * @param spec the pod spec (already known to be an object)
 */
export function windowsReason(spec: JsonObject): string | undefined {
  if (objectAt(spec.os)?.name === WINDOWS) return "'spec.os.name' is windows";
  const selector = objectAt(spec.nodeSelector);
  const label = OS_LABELS.find(key => selector?.[key] === WINDOWS);
  if (label) return `the node selector requires ${label}=windows`;
  if (requiredAffinityOnlyWindows(spec)) return 'the required node affinity admits only kubernetes.io/os=windows';
  const hostProcess = hostProcessContainer(spec);
  if (hostProcess !== undefined) return `${hostProcess} runs as a Windows hostProcess`;
  return undefined;
}

/**
 * Required node affinity terms are ORed: the pod is held to Windows nodes only when every term
 * has an `In` expression on the OS label whose values are all `windows`.
 */
function requiredAffinityOnlyWindows(spec: JsonObject): boolean {
  const required = objectAt(objectAt(objectAt(spec.affinity)?.nodeAffinity)?.requiredDuringSchedulingIgnoredDuringExecution);
  const terms = required?.nodeSelectorTerms;
  if (!Array.isArray(terms) || terms.length === 0) return false;
  return terms.every(term => {
    const expressions = objectAt(term)?.matchExpressions;
    return Array.isArray(expressions) && expressions.some(expression => {
      const e = objectAt(expression);
      return e !== undefined && OS_LABELS.includes(e.key as string) && e.operator === 'In'
        && Array.isArray(e.values) && e.values.length > 0 && e.values.every(v => v === WINDOWS);
    });
  });
}

/** `the pod` or `container 'x'` when a security context sets `windowsOptions.hostProcess: true`. */
function hostProcessContainer(spec: JsonObject): string | undefined {
  const isHostProcess = (context: unknown) => objectAt(objectAt(context)?.windowsOptions)?.hostProcess === true;
  if (isHostProcess(spec.securityContext)) return 'the pod';
  for (const field of HOST_PROCESS_CONTAINER_FIELDS) {
    const list = spec[field];
    if (!Array.isArray(list)) continue;
    const found = list.find(c => isObject(c) && isHostProcess(c.securityContext));
    if (found) return `container '${typeof found.name === 'string' ? found.name : '?'}'`;
  }
  return undefined;
}
