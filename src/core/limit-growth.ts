/**
 * Shared memory on top of the application's own memory (`limitFollows`).
 *
 * By default `/dev/shm` is a share of the writers' limit, and whatever shared memory takes, the
 * application loses (its pages are charged to the writer's cgroup). With `limitFollows` the user
 * gives two numbers instead, the application's memory (the limit as declared) and the shared
 * memory it needs (`size`, or a share of the declared limit), and the writers' limits grow by the
 * `/dev/shm` size, so that each writer can fill `/dev/shm` and still have its whole declared limit:
 *
 * - what grows: the memory limit of every target that runs beside the application (app containers
 *   and sidecars) with a limit of its own, and the pod-level limit when the pod sets one (it bounds
 *   the pod's cgroup, where shared memory is charged too). Plain init containers run alone, before
 *   the application, and keep their limits: shared memory they write is the application's to find;
 * - requests: a memory request equal to the declared limit grows with it (a Guaranteed pod stays
 *   Guaranteed), and the plan says so, since a ResourceQuota counts requests; any other request is
 *   kept (a Burstable pod stays Burstable); an absent one is defaulted to the limit by the API server;
 * - the record: the pod carries the limits as declared (`cdk8s-shm.io/declared-limits`), so that a
 *   later way in plans from the same numbers, finds the limits grown already, and neither grows them
 *   twice nor shrinks them.
 */
import { JsonObject, objectAt } from './json';
import { DECLARED_LIMITS_ANNOTATION } from './names';
import { ContainerLimit, PodResources } from './pod-limit';
import { PodContainer } from './pod-view';
import { bytesCeil, formatBytes } from './quantity';

/** The pod-level limit's name in that annotation (no container can be named so: `@` is not in a DNS label). */
export const POD_LEVEL = '@pod';

/** One memory field that grows: a container's limit or request, or the pod-level one. */
export interface ResourceEdit {
  /** Where: a container (`field` and `index`) or the pod (`pod`). */
  readonly at: { readonly field: 'containers' | 'initContainers'; readonly index: number } | 'pod';
  readonly name: string;
  readonly kind: 'limits' | 'requests';
  /** The new value, canonical. */
  readonly value: string;
}

/** One limit that follows `/dev/shm`. */
export interface LimitGrowth {
  /** A container's name, or `POD_LEVEL`. */
  readonly name: string;
  readonly declaredBytes: bigint;
  readonly grownBytes: bigint;
  /** The request grows with the limit (it was equal to the declared limit). */
  readonly requestGrows: boolean;
}

/** The declared limits, for the basis and the cap: the pod's resources as the user wrote them. */
export interface DeclaredLimits {
  readonly resources: PodResources;
  /** The grown limits' declared values by name (`POD_LEVEL` for the pod-level limit). */
  readonly byName: ReadonlyMap<string, bigint>;
}

/** Reads `app=1Gi,helper=128Mi`; undefined when it is not that. */
function parseDeclared(text: unknown): Map<string, bigint> | undefined {
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  const byName = new Map<string, bigint>();
  for (const entry of text.split(',')) {
    const [name, quantity, extra] = entry.split('=').map(s => s.trim());
    if (!name || quantity === undefined || extra !== undefined) return undefined;
    try {
      byName.set(name, bytesCeil(quantity));
    } catch {
      return undefined;
    }
  }
  return byName;
}

/** `app=1Gi,helper=128Mi`, in the order given. */
export function formatDeclared(growth: readonly LimitGrowth[]): string {
  return growth.map(g => `${g.name}=${formatBytes(g.declaredBytes)}`).join(',');
}

/** The targets whose limits follow `/dev/shm`: beside the application, with a limit of their own. */
function growers(targets: readonly PodContainer[], resources: PodResources): Array<{ target: PodContainer; limit: ContainerLimit }> {
  return targets.flatMap(target => {
    if (target.role === 'init container') return [];
    const limit = (target.field === 'containers' ? resources.containers : resources.initContainers)[target.index];
    return limit && limit.limit > 0n ? [{ target, limit }] : [];
  });
}

/**
 * The pod's resources as declared: the current ones, but for the limits the annotation says were
 * grown (a later way in), which it gives back.
 * @returns an error message when the annotation cannot be read
 */
export function declaredLimits(
  resources: PodResources, targets: readonly PodContainer[], annotations: JsonObject,
): DeclaredLimits | { invalid: string } {
  const recorded = annotations[DECLARED_LIMITS_ANNOTATION];
  const fromAnnotation = recorded === undefined ? new Map<string, bigint>() : parseDeclared(recorded);
  if (!fromAnnotation) return { invalid: `annotation ${DECLARED_LIMITS_ANNOTATION} (${String(recorded)}) is not NAME=QUANTITY,...` };
  const byName = new Map<string, bigint>();
  const declare = (limit: ContainerLimit): ContainerLimit => {
    const declared = fromAnnotation.get(limit.name) ?? limit.limit;
    byName.set(limit.name, declared);
    return { ...limit, limit: declared };
  };
  const grown = new Set(growers(targets, resources).map(g => g.limit));
  const containers = resources.containers.map(c => (grown.has(c) ? declare(c) : c));
  const initContainers = resources.initContainers.map(c => (grown.has(c) ? declare(c) : c));
  let podLevelBytes = resources.podLevelBytes;
  if (podLevelBytes > 0n) {
    podLevelBytes = fromAnnotation.get(POD_LEVEL) ?? podLevelBytes;
    byName.set(POD_LEVEL, podLevelBytes);
  }
  return { resources: { ...resources, containers, initContainers, podLevelBytes }, byName };
}

/** The resources once the limits grew by `sizeBytes`: what the kubelet will cap `/dev/shm` at. */
export function grownResources(declared: DeclaredLimits, sizeBytes: bigint): PodResources {
  const grow = (c: ContainerLimit) => (declared.byName.has(c.name) && c.limit > 0n ? { ...c, limit: c.limit + sizeBytes } : c);
  const r = declared.resources;
  return {
    ...r,
    containers: r.containers.map(grow),
    initContainers: r.initContainers.map(grow),
    podLevelBytes: r.podLevelBytes > 0n ? r.podLevelBytes + sizeBytes : 0n,
  };
}

/** The memory request at a place, in bytes (undefined when absent or unreadable). */
function requestBytes(owner: unknown): bigint | undefined {
  const value = objectAt(objectAt(objectAt(owner)?.resources)?.requests)?.memory;
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  try {
    return bytesCeil(value);
  } catch {
    return undefined;
  }
}

/** The current memory limit at a place, in bytes (0 when absent). */
function limitBytes(owner: unknown): bigint {
  const value = objectAt(objectAt(objectAt(owner)?.resources)?.limits)?.memory;
  try {
    return typeof value === 'string' || typeof value === 'number' ? bytesCeil(value) : 0n;
  } catch {
    return 0n;
  }
}

/**
 * The growth of every limit that follows `/dev/shm`, and the edits that bring the pod there (none
 * when a way in grew them already).
 */
export function planLimitGrowth(
  spec: JsonObject, targets: readonly PodContainer[], declared: DeclaredLimits, sizeBytes: bigint,
): { growth: LimitGrowth[]; edits: ResourceEdit[] } {
  const growth: LimitGrowth[] = [];
  const edits: ResourceEdit[] = [];
  const follow = (at: ResourceEdit['at'], name: string, owner: unknown, declaredBytes: bigint) => {
    const grownBytes = declaredBytes + sizeBytes;
    const request = requestBytes(owner);
    const requestGrows = request === declaredBytes || (request === grownBytes && limitBytes(owner) === grownBytes);
    growth.push({ name, declaredBytes, grownBytes, requestGrows });
    const value = formatBytes(grownBytes);
    if (limitBytes(owner) !== grownBytes) edits.push({ at, name, kind: 'limits', value });
    if (requestGrows && request !== grownBytes) edits.push({ at, name, kind: 'requests', value });
  };
  for (const target of targets) {
    const declaredBytes = declared.byName.get(target.name);
    if (target.role === 'init container' || declaredBytes === undefined) continue;
    const list = spec[target.field];
    const owner = Array.isArray(list) ? list[target.index] : undefined;
    follow({ field: target.field, index: target.index }, target.name, owner, declaredBytes);
  }
  const podLevel = declared.byName.get(POD_LEVEL);
  if (podLevel !== undefined) follow('pod', POD_LEVEL, spec, podLevel);
  return { growth, edits };
}

/** `container 'app' 1Gi -> 1280Mi, pod-level 2Gi -> 2304Mi`. */
export function describeGrowth(growth: readonly LimitGrowth[]): string {
  return growth.map(g => `${g.name === POD_LEVEL ? 'pod-level limit' : `'${g.name}'`} ${formatBytes(g.declaredBytes)} -> ${formatBytes(g.grownBytes)}`).join(', ');
}
