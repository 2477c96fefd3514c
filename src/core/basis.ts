/**
 * What a `/dev/shm` is sized from: the memory limit of the containers that write it.
 *
 * Pages written to `/dev/shm` are charged to the memory cgroup of the container whose process
 * wrote them, and each container is capped at its own limit. So the limit that matters is the
 * writer's, not the pod's: in a pod of two 2Gi containers (pod limit 4Gi), a 2Gi `/dev/shm` lets
 * either one fill its whole limit with shared memory and be OOM-killed again and again, since the
 * pages outlive a container restart (kubernetes#128339).
 *
 * The basis is the largest limit among the targets that run beside the application: app
 * containers and sidecars. Plain init containers run alone, before them (their pages are charged
 * to the pod once they exit), so they get the mount but do not set the basis. A target without a
 * limit of its own counts with the pod-level limit (`spec.resources.limits.memory`) when there is one.
 */
import { PodResources } from './pod-limit';
import { PodContainer } from './pod-view';

export interface SizingBasis {
  /** The limit the size is a share of, in bytes. */
  readonly bytes: bigint;
  /** The target it belongs to. */
  readonly container: PodContainer;
  /** The container has no limit of its own; the pod-level limit stood in for it. */
  readonly fromPodLevel: boolean;
}

export interface BasisResult {
  /** Absent when no app container or sidecar among the targets has a limit. */
  readonly basis?: SizingBasis;
  /** Targets without any limit (their own or the pod's): what they write is bounded by nothing but `/dev/shm` itself. */
  readonly unbounded: readonly PodContainer[];
}

/**
 * The basis among `targets`.
 * @param targets the containers that get (or have) the mount
 * @param resources the pod's memory settings (limits by container position)
 */
export function sizingBasis(targets: readonly PodContainer[], resources: PodResources): BasisResult {
  let basis: SizingBasis | undefined;
  const unbounded: PodContainer[] = [];
  for (const container of targets) {
    const own = (container.field === 'containers' ? resources.containers : resources.initContainers)[container.index]?.limit ?? 0n;
    const bytes = own > 0n ? own : resources.podLevelBytes;
    if (bytes === 0n) {
      unbounded.push(container);
      continue;
    }
    if (container.role === 'init container') continue;
    if (basis === undefined || bytes > basis.bytes) basis = { bytes, container, fromPodLevel: own === 0n };
  }
  return { basis, unbounded };
}
