/**
 * A running pod, as `kubectl get pods -o yaml` shows it: its `/dev/shm` is the `sizeLimit` it was
 * mounted with, and its memory limits may have changed since (an in-place resize). This reads the
 * limits in force and asks `planResize` what the rule gives under them.
 *
 * Where the limits in force are (Kubernetes v1.37.2, pkg/kubelet/kubelet_pods.go
 * convertToAPIContainerStatuses): `status.containerStatuses[].resources` holds the resources the
 * runtime applied (limits included), `allocatedResources` only the requests the kubelet admitted.
 * The spec holds the limits asked for, which differ while a resize is pending or in progress.
 */
import { JsonObject, isObject, objectAt } from './json';
import { PodLike } from './plan';
import { Policy } from './policy';
import { ResizePlan, planResize } from './resize';

/** Whether the object is a pod the API server returned with a status (a running or pending pod, not a manifest). */
export function isLivePod(object: unknown): object is JsonObject {
  return isObject(object) && object.kind === 'Pod' && isObject(object.status) && isObject(object.spec);
}

/**
 * The pod with the memory limits in force: each container's from its status where the status has
 * one (the spec's otherwise), the pod-level one from `status.resources`.
 */
export function podWithLimitsInForce(pod: JsonObject): JsonObject {
  const copy = structuredClone(pod);
  const spec = copy.spec as JsonObject;
  const status = objectAt(copy.status) ?? {};
  for (const [field, statuses] of [['containers', 'containerStatuses'], ['initContainers', 'initContainerStatuses']] as const) {
    const containers = Array.isArray(spec[field]) ? spec[field] as unknown[] : [];
    const byName = new Map((Array.isArray(status[statuses]) ? status[statuses] as unknown[] : [])
      .map(objectAt).filter((s): s is JsonObject => s !== undefined).map(s => [s.name, s]));
    for (const container of containers.map(objectAt)) {
      const memory = memoryLimitOf(byName.get(container?.name)?.resources);
      if (container && memory !== undefined) setMemoryLimit(container, memory);
    }
  }
  const podLevel = memoryLimitOf(status.resources);
  if (podLevel !== undefined) setMemoryLimit(spec, podLevel);
  return copy;
}

function memoryLimitOf(resources: unknown): unknown {
  return objectAt(objectAt(resources)?.limits)?.memory;
}

function setMemoryLimit(owner: JsonObject, memory: unknown): void {
  const resources = objectAt(owner.resources) ?? {};
  owner.resources = { ...resources, limits: { ...objectAt(resources.limits), memory } };
}

/**
 * The `/dev/shm` of a live pod against the rule under its limits in force: `follow` when they no
 * longer match, `atOrAboveWriter` when it reaches the writer's limit; undefined when the object is
 * not a live pod. `not-ours` when no way in sized it.
 */
export function planLivePod(pod: PodLike, policy: Policy): ResizePlan | undefined {
  if (!isLivePod(pod)) return undefined;
  return planResize(pod, podWithLimitsInForce(pod), policy);
}
