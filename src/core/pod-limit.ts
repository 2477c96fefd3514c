/**
 * The pod memory limit exactly as the kubelet computes it for the pod cgroup
 * (`pkg/kubelet/cm/helpers_linux.go` ResourceConfigForPod and
 * `k8s.io/component-helpers/resource` PodLimits).
 *
 * That limit is the cap of every `/dev/shm`: the kubelet mounts a memory-backed emptyDir no larger
 * than it, so a bigger `sizeLimit` can never be used. It is not what a `/dev/shm` is sized from:
 * pages are charged to the container that writes them (see basis.ts).
 */
import { JsonObject, isObject, objectAt } from './json';
import { MAX_QUANTITY, QuantityError, bytesCeil } from './quantity';

/** Where a pod's memory limit came from. */
export type LimitSource = 'pod' | 'containers';

/** The pod has a memory limit. */
export interface LimitedPod {
  readonly kind: 'limited';
  /** The limit in bytes, overhead included. */
  readonly bytes: bigint;
  /** `pod` when `spec.resources.limits.memory` decided it, `containers` when the containers did. */
  readonly source: LimitSource;
  /** `spec.overhead.memory` in bytes (already part of `bytes`). */
  readonly overheadBytes: bigint;
}

/** The pod has no memory limit: it may use the whole node, and so may its `/dev/shm`. */
export interface UnlimitedPod {
  readonly kind: 'unlimited';
  /** Names of the counted containers without a non-zero memory limit, in spec order. */
  readonly containersWithoutLimit: readonly string[];
}

/** The spec is not something the kubelet would run: wrong types, bad quantities, no containers. */
export interface InvalidPod {
  readonly kind: 'invalid';
  /** One line per problem, naming the field. */
  readonly problems: readonly string[];
}

export type PodMemoryLimit = LimitedPod | UnlimitedPod | InvalidPod;

/** A container's memory limit as the kubelet reads it. */
export interface ContainerLimit {
  readonly name: string;
  /** Memory limit in bytes, rounded up; 0 means none (the kubelet treats a zero limit as no limit). */
  readonly limit: bigint;
  /** An init container with `restartPolicy: Always`: it runs beside the app containers. */
  readonly sidecar: boolean;
}

/** The memory settings of a pod spec, read once; the pod limit and the `/dev/shm` basis both come from them. */
export interface PodResources {
  readonly kind: 'resources';
  /** `spec.containers`, in order. */
  readonly containers: readonly ContainerLimit[];
  /** `spec.initContainers`, in order. */
  readonly initContainers: readonly ContainerLimit[];
  /** `spec.resources.limits.memory` (pod-level resources) in bytes; 0 when absent. */
  readonly podLevelBytes: bigint;
  /** `spec.overhead.memory` in bytes; 0 when absent. */
  readonly overheadBytes: bigint;
}

/** Computes the memory limit of a pod from its spec. Never throws. */
export function podMemoryLimit(spec: unknown): PodMemoryLimit {
  const resources = readPodResources(spec);
  return resources.kind === 'invalid' ? resources : kubeletPodLimit(resources);
}

/** Reads the memory settings of a pod spec, or says what is wrong with them. Never throws. */
export function readPodResources(spec: unknown): PodResources | InvalidPod {
  const problems: string[] = [];
  if (!isObject(spec)) return { kind: 'invalid', problems: ['spec is not an object'] };

  const containers = readContainers(spec, 'containers', problems);
  const initContainers = readContainers(spec, 'initContainers', problems);
  if (containers.length === 0 && problems.length === 0) problems.push('spec.containers is empty');
  const podLevelBytes = readMemory(objectAt(objectAt(spec.resources)?.limits)?.memory, 'spec.resources.limits.memory', problems);
  const overheadBytes = readMemory(objectAt(spec.overhead)?.memory, 'spec.overhead.memory', problems);
  if (problems.length > 0) return { kind: 'invalid', problems };
  return { kind: 'resources', containers, initContainers, podLevelBytes, overheadBytes };
}

/** The pod cgroup's memory limit, as the kubelet sets it. */
export function kubeletPodLimit(resources: PodResources): LimitedPod | UnlimitedPod {
  const { containers, initContainers, podLevelBytes, overheadBytes } = resources;
  let bytes: bigint;
  let source: LimitSource;
  if (podLevelBytes > 0n) {
    bytes = podLevelBytes;
    source = 'pod';
  } else {
    const missing = [...containers, ...initContainers].filter(c => c.limit === 0n).map(c => c.name);
    if (missing.length > 0) return { kind: 'unlimited', containersWithoutLimit: missing };
    bytes = aggregateContainerLimits(containers, initContainers);
    source = 'containers';
  }
  // A quantity holds at most 2^63-1, and the sum can pass it (`16Ei` plus overhead, or many
  // `9Ei` containers). Uncapped, the size derived from it would be written as a `sizeLimit` that
  // reads back capped, so the pod could never be planned `unchanged`
  // (test/reliability/regressions/limit-above-max-quantity.json).
  const total = bytes + overheadBytes;
  return { kind: 'limited', bytes: total > MAX_QUANTITY ? MAX_QUANTITY : total, source, overheadBytes };
}

/**
 * `max(sum(app containers) + sum(sidecars), max over init containers of initUse)`: sidecars run
 * beside the app for the pod's whole life; a plain init container runs alone, beside only the
 * sidecars started before it.
 */
function aggregateContainerLimits(containers: readonly ContainerLimit[], initContainers: readonly ContainerLimit[]): bigint {
  let total = containers.reduce((sum, c) => sum + c.limit, 0n);
  let sidecarsSoFar = 0n;
  let peakInit = 0n;
  for (const init of initContainers) {
    let use: bigint;
    if (init.sidecar) {
      total += init.limit;
      sidecarsSoFar += init.limit;
      use = sidecarsSoFar;
    } else {
      use = init.limit + sidecarsSoFar;
    }
    if (use > peakInit) peakInit = use;
  }
  return total > peakInit ? total : peakInit;
}

function readContainers(spec: JsonObject, field: 'containers' | 'initContainers', problems: string[]): ContainerLimit[] {
  const list = spec[field];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    problems.push(`spec.${field} is not a list`);
    return [];
  }
  return list.map((container, index) => {
    const path = `spec.${field}[${index}]`;
    if (!isObject(container)) {
      problems.push(`${path} is not an object`);
      return { name: `#${index}`, limit: 0n, sidecar: false };
    }
    const name = typeof container.name === 'string' ? container.name : `#${index}`;
    const limit = readMemory(objectAt(objectAt(container.resources)?.limits)?.memory, `${path}.resources.limits.memory`, problems);
    const sidecar = field === 'initContainers' && container.restartPolicy === 'Always';
    return { name, limit, sidecar };
  });
}

/** A memory quantity in bytes (rounded up, as `Quantity.Value()` does); 0 when absent. */
function readMemory(value: unknown, path: string, problems: string[]): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value !== 'string' && typeof value !== 'number') {
    problems.push(`${path} is not a quantity`);
    return 0n;
  }
  try {
    const bytes = bytesCeil(value);
    if (bytes < 0n) {
      problems.push(`${path} (${value}) is negative`);
      return 0n;
    }
    return bytes;
  } catch (error) {
    problems.push(`${path}: ${(error as QuantityError).message}`);
    return 0n;
  }
}
