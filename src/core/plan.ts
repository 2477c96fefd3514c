/**
 * The decision for one pod: give it a `/dev/shm` or not, how large, in which containers, and why.
 *
 * The constructs, the admission webhook and the CLI all call `planSharedMemory`; the sizing rule
 * exists only here. Planning never throws on a pod it cannot understand: it skips it with a reason,
 * because the webhook must never block a pod over our own confusion.
 */
import { Rational, floor } from './decimal';
import { JsonObject, isObject, objectAt } from './json';
import { normalizeMountPath } from './mount-path';
import { INJECT_ANNOTATION, RATIO_ANNOTATION, SHM_MOUNT_PATH, SIZE_ANNOTATION, SIZE_LIMIT_ANNOTATION } from './names';
import { PodMemoryLimit, podMemoryLimit } from './pod-limit';
import { Policy, tryParseRatio, tryParseSize } from './policy';
import { bytesFloor, formatBytes } from './quantity';

/** What the plan does to the pod. */
export type PlanAction =
  /** Add the volume, the mounts and the annotation. */
  | 'inject'
  /** The volume is ours from an earlier run; bring its size and mounts up to date. */
  | 'update'
  /** The volume is ours and already right. */
  | 'unchanged'
  /** Leave the pod alone (see `reason`). */
  | 'skip'
  /** Refuse the pod (only when the policy says so for pods without a memory limit). */
  | 'deny';

/** Why a pod is skipped or denied. */
export type SkipReason =
  | 'invalid-pod'
  | 'mirror-pod'
  | 'opted-out'
  | 'not-opted-in'
  | 'invalid-annotation'
  | 'windows'
  | 'host-ipc'
  | 'user-shm-mount'
  | 'volume-name-taken'
  | 'no-memory-limit'
  | 'no-target-containers'
  | 'size-zero';

export const SKIP_REASONS: readonly SkipReason[] = [
  'invalid-pod', 'mirror-pod', 'opted-out', 'not-opted-in', 'invalid-annotation', 'windows', 'host-ipc',
  'user-shm-mount', 'volume-name-taken', 'no-memory-limit', 'no-target-containers', 'size-zero',
];

/** What decided a size: the policy's `size`, the pod's `size`/`ratio` annotation, the ratio, a bound, or the fixed size for pods without a limit. */
export type SizeSource = 'size' | 'size-annotation' | 'ratio' | 'ratio-annotation' | 'minimum' | 'maximum' | 'fixed-size';

/**
 * Skips that are the pod's or the policy's choice rather than a problem: not worth a warning to
 * the user (in opt-in mode every other pod would carry one).
 */
export const QUIET_SKIP_REASONS: ReadonlySet<SkipReason> = new Set<SkipReason>(['opted-out', 'not-opted-in', 'mirror-pod']);

/** Something the user should know about a decision that still went ahead (or a skip). */
export interface PlanWarning {
  readonly code: string;
  readonly message: string;
  /** The container the warning is about, when it is about one. */
  readonly container?: string;
}

/** A container that needs the mount added. */
export interface MountEdit {
  readonly field: 'containers' | 'initContainers';
  readonly index: number;
  readonly name: string;
  /** The container has no `volumeMounts` list yet: the patch must create it. */
  readonly createList: boolean;
}

/** The edits to the pod, independent of how they are applied (JSON patch, construct, CLI). */
export interface PlanEdits {
  readonly createMetadata: boolean;
  readonly createAnnotations: boolean;
  /** `add` a new volume (creating the list if `createVolumes`), or `resize` the existing one at `volumeIndex`. */
  readonly volume: 'add' | 'resize' | 'none';
  readonly createVolumes: boolean;
  readonly volumeIndex: number;
  /** The existing volume has no `emptyDir.sizeLimit` field (add instead of replace). */
  readonly sizeLimitMissing: boolean;
  readonly mounts: readonly MountEdit[];
  readonly setAnnotation: boolean;
  readonly annotationExists: boolean;
}

/** The decision for one pod. */
export interface ShmPlan {
  readonly action: PlanAction;
  /** Set when `action` is `skip` or `deny`. */
  readonly reason?: SkipReason;
  /** One line for humans: what happened and why. */
  readonly message: string;
  readonly limit?: PodMemoryLimit;
  /** The `/dev/shm` size in bytes, when one was decided. */
  readonly sizeBytes?: bigint;
  /** The same, formatted canonically (`sizeLimit` and annotation value). */
  readonly size?: string;
  /** What decided the size, before capping at the pod limit. */
  readonly sizeSource?: SizeSource;
  /** The size that source asked for, in bytes (larger than `sizeBytes` when capped). */
  readonly requestedBytes?: bigint;
  readonly volumeName: string;
  /** Names of the containers (app and init) that have or get the mount. */
  readonly targets: readonly string[];
  readonly warnings: readonly PlanWarning[];
  /** Present when `action` is `inject` or `update`. */
  readonly edits?: PlanEdits;
}

/** A pod or pod template: `metadata` and `spec`. */
export interface PodLike {
  readonly metadata?: unknown;
  readonly spec?: unknown;
}

/** Set by the kubelet on the API copy of a static pod. */
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/** The runtime's own `/dev/shm`: anything smaller is worth a warning. */
const RUNTIME_DEFAULT_BYTES = 64n * 2n ** 20n;
const MEBIBYTE = 2n ** 20n;

/** Plans `/dev/shm` for a pod. Never throws. */
export function planSharedMemory(pod: PodLike, policy: Policy): ShmPlan {
  const base = { volumeName: policy.volumeName, targets: [] as string[], warnings: [] as PlanWarning[] };
  const skip = (reason: SkipReason, message: string, extra: Partial<ShmPlan> = {}): ShmPlan =>
    ({ ...base, ...extra, action: 'skip', reason, message });

  // Callers pass whatever a request or a manifest held (`request.object` can be null); reading
  // `.spec` of null would throw, and planning must never throw.
  if (!isObject(pod)) return skip('invalid-pod', 'the pod is not an object');
  const spec = pod.spec;
  if (!isObject(spec)) return skip('invalid-pod', 'the pod has no spec');
  if (pod.metadata !== undefined && pod.metadata !== null && !isObject(pod.metadata)) return skip('invalid-pod', 'metadata is not an object');
  const metadata = objectAt(pod.metadata);
  const annotations = objectAt(metadata?.annotations) ?? {};

  // The kubelet creates mirror pods for static pods; the API server refuses changes to their spec.
  if (annotations[MIRROR_POD_ANNOTATION] !== undefined) return skip('mirror-pod', 'mirror pods of static pods cannot be changed');

  const inject = annotations[INJECT_ANNOTATION];
  if (inject !== undefined && inject !== 'true' && inject !== 'false') {
    return skip('invalid-annotation', `annotation ${INJECT_ANNOTATION} is ${quoted(inject)}; use "true" or "false"`);
  }
  if (inject === 'false') return skip('opted-out', `the pod opted out with ${INJECT_ANNOTATION}: "false"`);
  if (policy.selection === 'opt-in' && inject !== 'true') return skip('not-opted-in', `injection is opt-in and the pod lacks ${INJECT_ANNOTATION}: "true"`);

  if (objectAt(spec.os)?.name === 'windows') return skip('windows', 'Windows pods have no /dev/shm');
  if (spec.hostIPC === true) return skip('host-ipc', "the pod uses hostIPC, so /dev/shm is the node's own");

  const containers = listAt(spec.containers);
  const initContainers = listAt(spec.initContainers);
  const volumes = listAt(spec.volumes);
  if (!containers.ok || !initContainers.ok || !volumes.ok) return skip('invalid-pod', 'containers, initContainers or volumes is not a list');
  if (containers.items.some(c => !isObject(c)) || initContainers.items.some(c => !isObject(c)) || volumes.items.some(v => !isObject(v))) {
    return skip('invalid-pod', 'a container or volume is not an object');
  }
  const all = [
    ...containers.items.map((c, index) => ({ field: 'containers' as const, index, c: c as JsonObject })),
    ...initContainers.items.map((c, index) => ({ field: 'initContainers' as const, index, c: c as JsonObject })),
  ];
  for (const { c } of all) {
    if (c.volumeMounts !== undefined && c.volumeMounts !== null && (!Array.isArray(c.volumeMounts) || c.volumeMounts.some(m => !isObject(m)))) {
      return skip('invalid-pod', `volumeMounts of container '${text(c.name)}' is not a list of objects`);
    }
  }

  // Is a volume of ours already there (an earlier run), or did the user solve /dev/shm themselves?
  const volumeIndex = volumes.items.findIndex(v => (v as JsonObject).name === policy.volumeName);
  const existing = volumeIndex >= 0 ? volumes.items[volumeIndex] as JsonObject : undefined;
  const existingEmptyDir = objectAt(existing?.emptyDir);
  const ours = existing !== undefined && existingEmptyDir?.medium === 'Memory' && typeof annotations[SIZE_LIMIT_ANNOTATION] === 'string';
  const shmMounts = all.flatMap(({ c }) => mountsOf(c)
    .filter(m => normalizeMountPath(m.mountPath) === SHM_MOUNT_PATH)
    .map(m => ({ container: text(c.name), volume: m.name })));
  if (!ours) {
    const userMount = shmMounts[0];
    if (userMount) {
      return skip('user-shm-mount', `container '${userMount.container}' already mounts volume '${text(userMount.volume)}' at ${SHM_MOUNT_PATH}`);
    }
    if (existing) return skip('volume-name-taken', `the pod already has a volume named '${policy.volumeName}' that is not a memory-backed /dev/shm`);
  } else {
    const foreign = shmMounts.find(m => m.volume !== policy.volumeName);
    if (foreign) return skip('user-shm-mount', `container '${foreign.container}' mounts volume '${text(foreign.volume)}' at ${SHM_MOUNT_PATH}`);
  }

  // Annotations override the policy's size or ratio for this pod.
  let explicitBytes = policy.size;
  let explicitSource: SizeSource = 'size';
  let ratio: Rational = policy.ratio;
  let ratioSource: SizeSource = 'ratio';
  const sizeAnnotation = annotations[SIZE_ANNOTATION];
  const ratioAnnotation = annotations[RATIO_ANNOTATION];
  if (sizeAnnotation !== undefined && ratioAnnotation !== undefined) {
    return skip('invalid-annotation', `annotations ${SIZE_ANNOTATION} and ${RATIO_ANNOTATION} cannot both be set`);
  }
  if (sizeAnnotation !== undefined) {
    const parsed = tryParseSize(sizeAnnotation, SIZE_ANNOTATION);
    if (typeof parsed === 'string') return skip('invalid-annotation', parsed);
    explicitBytes = parsed;
    explicitSource = 'size-annotation';
  }
  if (ratioAnnotation !== undefined) {
    const parsed = tryParseRatio(ratioAnnotation, RATIO_ANNOTATION);
    if (typeof parsed === 'string') return skip('invalid-annotation', parsed);
    ratio = parsed;
    ratioSource = 'ratio-annotation';
    explicitBytes = undefined;
  }

  const limit = podMemoryLimit(spec);
  if (limit.kind === 'invalid') return skip('invalid-pod', limit.problems.join('; '), { limit });

  const warnings: PlanWarning[] = [];
  let requestedBytes: bigint | undefined;
  let sizeBytes: bigint;
  let sizeSource: SizeSource;
  if (limit.kind === 'limited') {
    if (explicitBytes !== undefined) {
      sizeBytes = explicitBytes;
      sizeSource = explicitSource;
    } else {
      sizeBytes = roundDownToUnit(floor({ num: limit.bytes * ratio.num, den: ratio.den }));
      sizeSource = ratioSource;
      if (policy.minimum !== undefined && sizeBytes < policy.minimum) {
        sizeBytes = policy.minimum;
        sizeSource = 'minimum';
      }
      if (policy.maximum !== undefined && sizeBytes > policy.maximum) {
        sizeBytes = policy.maximum;
        sizeSource = 'maximum';
      }
    }
    requestedBytes = sizeBytes;
    if (sizeBytes > limit.bytes) {
      warnings.push({
        code: 'capped-at-limit',
        message: `/dev/shm capped at the pod memory limit ${formatBytes(limit.bytes)} (asked ${formatBytes(sizeBytes)})`,
      });
      sizeBytes = limit.bytes;
    } else if (sizeBytes === limit.bytes) {
      warnings.push({ code: 'equals-limit', message: `/dev/shm ${formatBytes(sizeBytes)} equals the pod memory limit: shm alone can OOM it` });
    }
  } else {
    const without = `containers ${limit.containersWithoutLimit.map(n => `'${n}'`).join(', ')} have no memory limit`;
    if (explicitBytes !== undefined) {
      sizeBytes = explicitBytes;
      sizeSource = explicitSource;
      warnings.push({ code: 'no-memory-limit', message: `${without}; /dev/shm pages are charged to an unbounded pod` });
    } else if (policy.withoutLimit === 'deny') {
      return { ...base, limit, action: 'deny', reason: 'no-memory-limit', message: `${without}: set a memory limit so /dev/shm can be sized from it` };
    } else if (policy.withoutLimit === 'fixed' && policy.fixedSize !== undefined) {
      sizeBytes = policy.fixedSize;
      sizeSource = 'fixed-size';
      warnings.push({ code: 'no-memory-limit', message: `${without}; gave the fixed /dev/shm size ${formatBytes(sizeBytes)}` });
    } else {
      return skip('no-memory-limit', `${without}, so /dev/shm cannot be sized from the limit`, { limit });
    }
  }
  // A zero sizeLimit means "no limit" to the kubelet: the opposite of what a tiny ratio asked for.
  if (sizeBytes <= 0n) return skip('size-zero', `the computed /dev/shm size is 0 bytes (${sizeSource})`, { limit, warnings });
  if (sizeBytes < RUNTIME_DEFAULT_BYTES) {
    warnings.push({ code: 'below-runtime-default', message: `/dev/shm ${formatBytes(sizeBytes)} is smaller than the runtime's default 64Mi` });
  }

  // Which containers get the mount.
  const wanted = policy.containers;
  const targets = all.filter(({ field, c }) => wanted ? wanted.includes(text(c.name)) : field === 'containers' || policy.includeInitContainers);
  if (wanted) {
    const known = new Set(all.map(({ c }) => text(c.name)));
    for (const name of wanted.filter(n => !known.has(n))) {
      warnings.push({ code: 'unknown-container', message: `container '${name}' named in the policy is not in the pod`, container: name });
    }
  }
  if (targets.length === 0) return skip('no-target-containers', 'none of the containers the policy names is in the pod', { limit, warnings });

  const size = formatBytes(sizeBytes);
  const mounts: MountEdit[] = targets
    .filter(({ c }) => !mountsOf(c).some(m => m.name === policy.volumeName && normalizeMountPath(m.mountPath) === SHM_MOUNT_PATH))
    .map(({ field, index, c }) => ({ field, index, name: text(c.name), createList: !Array.isArray(c.volumeMounts) }));
  const currentAnnotation = annotations[SIZE_LIMIT_ANNOTATION];
  const setAnnotation = currentAnnotation !== size;

  let volume: PlanEdits['volume'] = 'add';
  if (ours) {
    const current = existingEmptyDir?.sizeLimit;
    const currentBytes = typeof current === 'string' || typeof current === 'number' ? safeBytes(current) : undefined;
    volume = currentBytes === sizeBytes ? 'none' : 'resize';
  }
  const plan = {
    ...base,
    limit,
    sizeBytes,
    size,
    sizeSource,
    requestedBytes: requestedBytes ?? sizeBytes,
    targets: targets.map(({ c }) => text(c.name)),
    warnings,
  };
  if (ours && volume === 'none' && mounts.length === 0 && !setAnnotation) {
    return { ...plan, action: 'unchanged', message: `/dev/shm is already ${size}` };
  }
  const edits: PlanEdits = {
    createMetadata: metadata === undefined,
    createAnnotations: !isObject(metadata?.annotations),
    volume,
    createVolumes: !Array.isArray(spec.volumes),
    volumeIndex,
    sizeLimitMissing: existingEmptyDir?.sizeLimit === undefined,
    mounts,
    setAnnotation,
    annotationExists: currentAnnotation !== undefined,
  };
  const limitText = limit.kind === 'limited' ? `pod memory limit ${formatBytes(limit.bytes)}` : 'no pod memory limit';
  return {
    ...plan,
    action: ours ? 'update' : 'inject',
    message: `${ours ? 'resized' : 'mounted'} /dev/shm ${size} (${limitText})`,
    edits,
  };
}

/** Sizes derived from a ratio are rounded down to whole mebibytes, so that they read well. */
function roundDownToUnit(bytes: bigint): bigint {
  return bytes >= MEBIBYTE ? (bytes / MEBIBYTE) * MEBIBYTE : bytes;
}

/**
 * A value from the pod as text, for names and messages. `String()` throws on an object whose
 * `toString` is not a function (`{"toString": 1}` is valid JSON) and overflows the stack on a list
 * nested thousands deep, and planning must not throw
 * (test/reliability/regressions/container-name-tostring.json).
 */
function text(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Array.isArray(value) ? '[list]' : '[object]';
  }
}

/** `JSON.stringify` for messages, which overflows the stack on deep nesting; see `text`. */
function quoted(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return text(value);
  }
}

function listAt(value: unknown): { ok: boolean; items: unknown[] } {
  if (value === undefined || value === null) return { ok: true, items: [] };
  return Array.isArray(value) ? { ok: true, items: value } : { ok: false, items: [] };
}

function mountsOf(container: JsonObject): JsonObject[] {
  return Array.isArray(container.volumeMounts) ? container.volumeMounts.filter(isObject) : [];
}

function safeBytes(value: string | number): bigint | undefined {
  try {
    return bytesFloor(value);
  } catch {
    return undefined;
  }
}
