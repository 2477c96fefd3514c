/**
 * The decision for one pod: give it a `/dev/shm` or not, how large, in which containers, and why.
 *
 * The constructs, the admission webhook and the CLI all call `planSharedMemory`; the sizing rule
 * exists only here:
 *
 *   1. Targets: the containers that get the mount (every app container, sidecar and init
 *      container by default, or the ones the policy names).
 *   2. Basis: the largest memory limit among the targets that run beside the application (see
 *      basis.ts): pages are charged to the container that writes them.
 *   3. Size: ratio × basis, rounded down, within [minimum, maximum]; or the explicit size. Capped
 *      at the kubelet's pod limit, which caps the tmpfs anyway.
 *   4. Never worse than the runtime: a ratio-derived size below its 64Mi is not injected unless a
 *      minimum says a smaller one is meant (and a maximum below it needs one: setting-rules.ts).
 *
 * Planning never throws on a pod it cannot understand: it skips it with a reason, because the
 * webhook must never block a pod over our own confusion.
 */
import { SizingBasis, sizingBasis } from './basis';
import { floor } from './decimal';
import { JsonObject, isObject, objectAt } from './json';
import { DeclaredLimits, LimitGrowth, ResourceEdit, declaredLimits, describeGrowth, formatDeclared, grownResources, planLimitGrowth } from './limit-growth';
import { normalizeMountPath } from './mount-path';
import { DECLARED_LIMITS_ANNOTATION, HARDENED_MOUNT_OPTIONS, INJECT_ANNOTATION, RUNTIME_DEFAULT_SHM_BYTES, SHM_MOUNT_PATH, SIZE_LIMIT_ANNOTATION } from './names';
import { PodMemoryLimit, PodResources, kubeletPodLimit, readPodResources } from './pod-limit';
import { readPodPolicy } from './pod-policy';
import { ContainerRole, PodContainer, PodVolumes, describeContainer, describeContainers, readPodVolumes, text } from './pod-view';
import { Policy } from './policy';
import { bytesCeil, formatBytes } from './quantity';
import { POD_SETTING_ANNOTATIONS, PolicyInput, PolicySetting, settingAnnotation, settingText } from './settings';
import { windowsReason } from './windows';

/** What the plan does to the pod. */
export type PlanAction =
  /** Add the volume, the mounts and the annotations. */
  | 'inject'
  /** The volume is ours from an earlier run; bring its size, mounts and annotations up to date. */
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
  | 'below-runtime-default'
  | 'user-shm-unbounded'
  /** Only from `planForAdmissionPolicy`: the MutatingAdmissionPolicy cannot size this pod exactly (admission-policy-limits.ts). */
  | 'admission-policy-limit';

export const SKIP_REASONS: readonly SkipReason[] = [
  'invalid-pod', 'mirror-pod', 'opted-out', 'not-opted-in', 'invalid-annotation', 'windows', 'host-ipc',
  'user-shm-mount', 'volume-name-taken', 'no-memory-limit', 'no-target-containers', 'below-runtime-default', 'user-shm-unbounded',
  'admission-policy-limit',
];

/** What decided a size: the policy's `size`, the pod's `size`/`ratio` annotation, the ratio, a bound, or the fixed size for pods without a limit. */
export type SizeSource = 'size' | 'size-annotation' | 'ratio' | 'ratio-annotation' | 'minimum' | 'maximum' | 'fixed-size';

/**
 * Skips that are the pod's or the policy's choice rather than a problem: not worth a warning to
 * the user (in opt-in mode every other pod would carry one). A pod below the runtime default keeps
 * the runtime's `/dev/shm`, which is what it needs.
 */
export const QUIET_SKIP_REASONS: ReadonlySet<SkipReason> = new Set<SkipReason>(['opted-out', 'not-opted-in', 'mirror-pod', 'below-runtime-default']);

/** Something the user should know about a decision that still went ahead (or a skip). */
/** What `hardenMount` needs from the cluster, as every way in that applies it says. */
export const HARDEN_MOUNT_GATE_WARNING = '/dev/shm nosuid,nodev,noexec needs VolumeBindMountOptions (1.37+); without it the API server drops them';

export interface PlanWarning {
  readonly code: string;
  readonly message: string;
  /** The container the warning is about, when it is about one. */
  readonly container?: string;
}

/**
 * `cdk8s-shm.io/` annotations on a pod that cannot be honoured: a value that does not parse, settings
 * that contradict each other, an `inject` that is neither "true" nor "false", a container the pod
 * does not have, a key that is none of ours. The pod keeps what it had (or is sized without them);
 * `check` fails on them, and every other way in warns.
 */
export interface UnhonouredAnnotations {
  /** The annotations at fault. */
  readonly annotations: readonly string[];
  /** What is wrong, naming them. */
  readonly message: string;
}

/** A container that needs the mount added. */
export interface MountEdit {
  readonly field: 'containers' | 'initContainers';
  readonly index: number;
  readonly name: string;
  /** The container has no `volumeMounts` list yet: the patch must create it. */
  readonly createList: boolean;
}

/** A mount of ours that lacks some of the runtime's hardening (`hardenMount`): its `bindMountOptions` become `options`. */
export interface HardenEdit {
  readonly field: 'containers' | 'initContainers';
  readonly index: number;
  /** Where the mount is in the container's `volumeMounts`. */
  readonly mountIndex: number;
  readonly name: string;
  /** The mount has a `bindMountOptions` list already (replace instead of add). */
  readonly hasOptions: boolean;
  /** The options it had, and the hardening. */
  readonly options: readonly string[];
}

/** An annotation to set on the pod (template). */
export interface AnnotationEdit {
  readonly key: string;
  readonly value: string;
  /** The annotation is there with another value (replace instead of add). */
  readonly exists: boolean;
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
  /** With `hardenMount`: the options every mount of ours gets (new mounts carry them); none without it. */
  readonly mountOptions: readonly string[];
  /** With `hardenMount`: the mounts of ours already there that lack some of the options. */
  readonly hardenMounts: readonly HardenEdit[];
  readonly annotations: readonly AnnotationEdit[];
  /** With `limitFollows`: the memory limits (and requests) that grow by the `/dev/shm` size. */
  readonly resources: readonly ResourceEdit[];
}

/** The limit a size was a share of: the largest among the targets that run beside the application. */
export interface PlanBasis {
  readonly bytes: bigint;
  /** The container it came from. */
  readonly container: string;
  readonly role: ContainerRole;
  /** The container has no limit of its own: the pod-level limit (`spec.resources.limits.memory`) stood in. */
  readonly fromPodLevel: boolean;
}

/** The decision for one pod. */
export interface ShmPlan {
  readonly action: PlanAction;
  /** Set when `action` is `skip` or `deny`. */
  readonly reason?: SkipReason;
  /** One line for humans: what happened and why. */
  readonly message: string;
  /** The kubelet's pod memory limit: the cap (with `limitFollows`, once the limits grew). */
  readonly limit?: PodMemoryLimit;
  /** With `limitFollows`: the pod memory limit as declared, before the limits grew. */
  readonly declaredLimit?: PodMemoryLimit;
  /** With `limitFollows`: each limit that follows `/dev/shm`, as declared and grown. */
  readonly limitGrowth?: readonly LimitGrowth[];
  /** What the size is a share of, when a target has a limit. */
  readonly basis?: PlanBasis;
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
  /** The settings the pod's own annotations decided. */
  readonly annotated: readonly PolicySetting[];
  readonly warnings: readonly PlanWarning[];
  /** The pod's annotations that cannot be honoured (also among `warnings`, or the skip's message). */
  readonly unhonoured: readonly UnhonouredAnnotations[];
  /** Present when `action` is `inject` or `update`. */
  readonly edits?: PlanEdits;
}

/** A pod or pod template: `metadata` and `spec`. */
export interface PodLike {
  readonly metadata?: unknown;
  readonly spec?: unknown;
}

/** Set by the kubelet on the API copy of a static pod. */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
/** Sizes derived from a ratio are rounded down to a whole number of this unit (when at least one). */
export const RATIO_SIZE_UNIT_BYTES = 2n ** 20n;

/** How a way in plans a pod: `planSharedMemory`, or the admission policy's `planForAdmissionPolicy`. */
export type Planner = (pod: PodLike, policy: Policy) => ShmPlan;

/** A plan being built, field by field (see `PlanNotes.draft`). */
type PlanDraft = { -readonly [K in keyof ShmPlan]?: ShmPlan[K] };

/**
 * What every plan carries, filled in as the rule learns it. (Plain fields, not a spread object
 * copied at each step: planning runs for every pod of every synthesis.)
 */
class PlanNotes {
  readonly warnings: PlanWarning[] = [];
  readonly unhonoured: UnhonouredAnnotations[] = [];
  targetNames: readonly string[] = [];
  annotated: readonly PolicySetting[] = [];

  constructor(public volumeName: string) {}

  /**
   * The plan that leaves the pod alone, with what was learned so far: the pod limit and the basis
   * where the rule got that far (`basis` is set, undefined or not, whenever it is given).
   */
  skip(reason: SkipReason, message: string, extra?: { readonly limit: PodMemoryLimit; readonly basis?: PlanBasis }): ShmPlan {
    const plan = this.draft();
    if (extra) {
      plan.limit = extra.limit;
      if ('basis' in extra) plan.basis = extra.basis;
    }
    plan.action = 'skip';
    plan.reason = reason;
    plan.message = message;
    return plan as ShmPlan;
  }

  /**
   * A new plan with what every plan carries, for the caller to complete in its fields' order. Built
   * field by field, not as `{ ...carried, more }`: Node 20's V8 takes microseconds for every object
   * literal that spreads one object and adds fields after it (a third of a plan's time, measured
   * in BENCHMARKS.md), and a plan is made for every pod of every way in.
   */
  draft(): PlanDraft {
    const { volumeName, targetNames: targets, annotated, warnings, unhonoured } = this;
    return { volumeName, targets, annotated, warnings, unhonoured };
  }
}

/** The pod as planning reads it, once it passed the checks that can skip it before any sizing. */
interface PodReading {
  readonly spec: JsonObject;
  readonly metadata: JsonObject | undefined;
  readonly annotations: JsonObject;
  readonly policy: Policy;
  readonly annotatedSettings: ReadonlySet<PolicySetting>;
  readonly view: PodVolumes;
  readonly resources: PodResources;
  readonly limit: PodMemoryLimit;
}

/**
 * Plans `/dev/shm` for a pod: the rule, as every way in applies it (the admission policy through
 * `planForAdmissionPolicy`, which leaves alone the pods its CEL cannot size exactly). Never throws.
 * @param wayInPolicy the policy of the way in
 */
export function planSharedMemory(pod: PodLike, wayInPolicy: Policy): ShmPlan {
  const notes = new PlanNotes(wayInPolicy.volumeName);
  const reading = readPod(pod, wayInPolicy, notes);
  if ('action' in reading) return reading;
  const { policy, annotations, view, resources, limit } = reading;

  // Is a volume of ours already there (an earlier run), or did the user solve /dev/shm themselves?
  const found = findShmVolume(view, policy.volumeName, typeof annotations[SIZE_LIMIT_ANNOTATION] === 'string');
  if (found.kind === 'skip') return notes.skip(found.reason, found.message, { limit });

  // 1. Targets: a volume the pod brought keeps the containers that mount it.
  const targets = found.kind === 'unbounded'
    ? found.mountedBy
    : chooseTargets(view, policy, reading.annotatedSettings.has('containers'), notes.warnings, notes.unhonoured);
  if (targets.length === 0) return notes.skip('no-target-containers', 'none of the containers the policy names is in the pod', { limit });
  if (found.kind !== 'fresh') notes.volumeName = found.name;
  notes.targetNames = targets.map(c => c.name);

  // With limitFollows, the size is decided from the limits as declared, and caps at the grown ones.
  let declared: DeclaredLimits | undefined;
  if (policy.limitFollows) {
    const read = declaredLimits(resources, targets, annotations);
    if ('invalid' in read) {
      notes.unhonoured.push({ annotations: [DECLARED_LIMITS_ANNOTATION], message: read.invalid });
      return notes.skip('invalid-annotation', read.invalid, { limit });
    }
    declared = read;
  }
  const capAt = (sizeBytes: bigint): PodMemoryLimit => (declared ? kubeletPodLimit(grownResources(declared, sizeBytes)) : limit);

  // 2. Basis, 3. size, 4. the runtime floor.
  const { basis, unbounded } = sizingBasis(targets, declared?.resources ?? resources);
  const sized = decideSize(policy, reading.annotatedSettings, targets, basis, unbounded, capAt, notes.warnings, declared);
  const planBasis = basis && { bytes: basis.bytes, container: basis.container.name, role: basis.container.role, fromPodLevel: basis.fromPodLevel };
  if (found.kind === 'unbounded' && (!policy.sizeUnboundedShm || !('sizeBytes' in sized))) {
    // Left alone: say that it is unbounded, and what the rule would do about it.
    const rule = 'sizeBytes' in sized ? `the rule would give it ${formatBytes(sized.sizeBytes)} (set sizeUnboundedShm)`
      : `the rule cannot size it: ${'skip' in sized ? sized.message : sized.deny}`;
    return notes.skip('user-shm-unbounded', `${found.description}, a memory-backed emptyDir without sizeLimit that may grow to the node's memory `
      + `(kubernetes#125852); ${rule}`, { limit, basis: planBasis });
  }
  if ('deny' in sized) {
    const denial = notes.draft();
    denial.limit = limit;
    denial.basis = planBasis;
    denial.action = 'deny';
    denial.reason = 'no-memory-limit';
    denial.message = sized.deny;
    return denial as ShmPlan;
  }
  if ('skip' in sized) return notes.skip(sized.skip, sized.message, { limit, basis: planBasis });
  return sizedPlan({ reading, notes, found, targets, declared, planBasis, sized, capAt });
}

/**
 * Reads the pod and the settings it carries, and stops at what skips it before any sizing: a pod
 * that is not one, a mirror pod, an opt-out, an annotation that cannot be read, Windows, hostIPC.
 */
function readPod(pod: PodLike, wayInPolicy: Policy, notes: PlanNotes): PodReading | ShmPlan {
  // Callers pass whatever a request or a manifest held (`request.object` can be null); reading
  // `.spec` of null would throw, and planning must never throw.
  if (!isObject(pod)) return notes.skip('invalid-pod', 'the pod is not an object');
  const spec = pod.spec;
  if (!isObject(spec)) return notes.skip('invalid-pod', 'the pod has no spec');
  if (pod.metadata !== undefined && pod.metadata !== null && !isObject(pod.metadata)) return notes.skip('invalid-pod', 'metadata is not an object');
  const metadata = objectAt(pod.metadata);
  const annotations = objectAt(metadata?.annotations) ?? {};

  // The kubelet creates mirror pods for static pods; the API server refuses changes to their spec.
  if (annotations[MIRROR_POD_ANNOTATION] !== undefined) return notes.skip('mirror-pod', 'mirror pods of static pods cannot be changed');
  const inject = annotations[INJECT_ANNOTATION];
  if (inject !== undefined && inject !== 'true' && inject !== 'false') {
    const message = `annotation ${INJECT_ANNOTATION} is ${quoted(inject)}; use "true" or "false"`;
    notes.unhonoured.push({ annotations: [INJECT_ANNOTATION], message });
    return notes.skip('invalid-annotation', message);
  }
  if (inject === 'false') return notes.skip('opted-out', `the pod opted out with ${INJECT_ANNOTATION}: "false"`);
  if (wayInPolicy.podSelection === 'opt-in' && inject !== 'true') {
    return notes.skip('not-opted-in', `injection is opt-in and the pod lacks ${INJECT_ANNOTATION}: "true"`);
  }

  const podPolicy = readPodPolicy(annotations, wayInPolicy);
  if ('invalid' in podPolicy) {
    notes.unhonoured.push({ annotations: podPolicy.annotations, message: podPolicy.invalid });
    return notes.skip('invalid-annotation', podPolicy.invalid);
  }
  notes.volumeName = podPolicy.policy.volumeName;
  notes.annotated = [...podPolicy.annotated];
  for (const key of podPolicy.unknownAnnotations) {
    const message = `annotation ${key} is not one of cdk8s-shm's; it is ignored`;
    notes.warnings.push({ code: 'unknown-annotation', message });
    notes.unhonoured.push({ annotations: [key], message });
  }

  const windows = windowsReason(spec);
  if (windows) return notes.skip('windows', `Windows pods have no /dev/shm (${windows})`);
  if (spec.hostIPC === true) return notes.skip('host-ipc', "the pod uses hostIPC, so /dev/shm is the node's own");

  const view = readPodVolumes(spec);
  if (typeof view === 'string') return notes.skip('invalid-pod', view);
  const resources = readPodResources(spec);
  if (resources.kind === 'invalid') return notes.skip('invalid-pod', resources.problems.join('; '), { limit: resources });
  const limit = kubeletPodLimit(resources);
  return { spec, metadata, annotations, policy: podPolicy.policy, annotatedSettings: podPolicy.annotated, view, resources, limit };
}

/** What the last step of the rule works from: the pod read, the volume found, the targets, the size decided. */
interface SizedInput {
  readonly reading: PodReading;
  readonly notes: PlanNotes;
  readonly found: Exclude<FoundVolume, { kind: 'skip' }>;
  readonly targets: readonly PodContainer[];
  readonly declared: DeclaredLimits | undefined;
  readonly planBasis: PlanBasis | undefined;
  readonly sized: Extract<SizeDecision, { sizeBytes: bigint }>;
  readonly capAt: (sizeBytes: bigint) => PodMemoryLimit;
}

/** The plan for a size: the edits that give the pod its volume, mounts, annotations (and grown limits), or none. */
function sizedPlan(input: SizedInput): ShmPlan {
  const { reading, notes, found, targets, declared, planBasis, sized, capAt } = input;
  const { spec, metadata, annotations, policy, view } = reading;
  const { sizeBytes } = sized;
  const size = formatBytes(sizeBytes);
  const volumeName = notes.volumeName;
  const growth = declared ? planLimitGrowth(spec, targets, declared, sizeBytes) : undefined;
  if (growth) noteGrowth(growth, notes.warnings);
  const ourMount = (m: JsonObject) => m.name === volumeName && normalizeMountPath(m.mountPath) === SHM_MOUNT_PATH;
  const mounts: MountEdit[] = targets
    .filter(c => !c.mounts.some(ourMount))
    .map(c => ({ field: c.field, index: c.index, name: c.name, createList: !c.hasMountList }));
  const mountOptions = policy.hardenMount ? HARDENED_MOUNT_OPTIONS : [];
  const hardenMounts = hardenEdits(targets, ourMount, mountOptions);
  // An API server without VolumeBindMountOptions drops bindMountOptions without a word (Kubernetes
  // v1.37.2 pkg/api/pod/util.go dropDisabledFields), and no way in can tell: say it every time we ask.
  if ((mountOptions.length > 0 && mounts.length > 0) || hardenMounts.length > 0) notes.warnings.push({ code: 'harden-mount-gate', message: HARDEN_MOUNT_GATE_WARNING });
  let volume: PlanEdits['volume'] = 'add';
  if (found.kind !== 'fresh') {
    // Read as the kubelet reads it (rounded up): `1.0000000001Gi` is not 1Gi.
    const current = found.emptyDir.sizeLimit;
    volume = (typeof current === 'string' || typeof current === 'number') && safeBytes(current) === sizeBytes ? 'none' : 'resize';
  }
  const sizeLimitEdit = annotationEdit(annotations, SIZE_LIMIT_ANNOTATION, size);
  const declaredEdit = growth && growth.growth.length > 0
    ? annotationEdit(annotations, DECLARED_LIMITS_ANNOTATION, formatDeclared(growth.growth)) : undefined;
  const plan = (action: PlanAction, message: string, edits?: PlanEdits): ShmPlan => {
    const result = notes.draft();
    result.limit = capAt(sizeBytes);
    if (declared) {
      result.declaredLimit = kubeletPodLimit(declared.resources);
      result.limitGrowth = growth!.growth;
    }
    result.basis = planBasis;
    result.sizeBytes = sizeBytes;
    result.size = size;
    result.sizeSource = sized.sizeSource;
    result.requestedBytes = sized.requestedBytes;
    result.action = action;
    result.message = message;
    result.edits = edits;
    return result as ShmPlan;
  };
  const resourceEdits = growth?.edits ?? [];
  if (found.kind === 'ours' && volume === 'none' && mounts.length === 0 && hardenMounts.length === 0 && !sizeLimitEdit && !declaredEdit
    && resourceEdits.length === 0) {
    return plan('unchanged', `/dev/shm is already ${size}`);
  }
  // The way in that sizes a pod writes down what it was told explicitly, so that every way in
  // after it reaches the same answer. A volume the pod brought is pinned by name and by the
  // containers that mount it.
  const adopting = found.kind === 'unbounded';
  const chosen: PolicyInput = adopting ? { ...policy.input, volumeName, containers: targets.map(c => c.name) } : policy.input;
  const edits: PlanEdits = {
    createMetadata: metadata === undefined,
    createAnnotations: !isObject(metadata?.annotations),
    volume,
    createVolumes: !view.hasVolumeList,
    volumeIndex: found.kind === 'fresh' ? -1 : found.index,
    sizeLimitMissing: found.kind === 'fresh' || found.emptyDir.sizeLimit === undefined,
    mounts,
    mountOptions,
    hardenMounts,
    annotations: [
      ...(sizeLimitEdit ? [sizeLimitEdit] : []),
      ...(declaredEdit ? [declaredEdit] : []),
      ...choiceAnnotations(annotations, chosen, reading.annotatedSettings),
    ],
    resources: resourceEdits,
  };
  const verb = found.kind === 'ours' ? 'resized' : adopting ? `sized the pod's own volume '${volumeName}':` : 'mounted';
  const how = growth && growth.growth.length > 0
    ? `on top of the application's memory: limits ${describeGrowth(growth.growth)}`
    : describeSizing({ basis: planBasis, limit: reading.limit });
  return plan(found.kind === 'ours' ? 'update' : 'inject', `${verb} /dev/shm ${size} (${how})`, edits);
}

/**
 * Step 1 for a volume of ours: the containers the policy names, or all of them (init containers and
 * sidecars unless left out). A name the pod lacks is warned about, and when the pod's own annotation
 * gave it, it is an annotation that cannot be honoured.
 */
function chooseTargets(
  view: PodVolumes, policy: Policy, fromAnnotation: boolean, warnings: PlanWarning[], unhonoured: UnhonouredAnnotations[],
): readonly PodContainer[] {
  const wanted = policy.containers;
  if (!wanted) return view.containers.filter(c => c.field === 'containers' || policy.includeInitContainers);
  const known = new Set(view.containers.map(c => c.name));
  const where = fromAnnotation ? settingAnnotation('containers') : 'the policy';
  const missing = wanted.filter(n => !known.has(n));
  for (const name of missing) {
    warnings.push({ code: 'unknown-container', message: `container '${name}' named in ${where} is not in the pod`, container: name });
  }
  if (fromAnnotation && missing.length > 0) {
    unhonoured.push({ annotations: [where], message: `${describeNames(missing)} named in ${where} ${missing.length === 1 ? 'is' : 'are'} not in the pod` });
  }
  return view.containers.filter(c => wanted.includes(c.name));
}

/**
 * With `hardenMount`: the mounts of ours in the targets whose `bindMountOptions` lack some of the
 * runtime's hardening. Options the mount has already are kept; none is ever taken away.
 */
function hardenEdits(targets: readonly PodContainer[], ours: (mount: JsonObject) => boolean, options: readonly string[]): HardenEdit[] {
  if (options.length === 0) return [];
  const edits: HardenEdit[] = [];
  for (const c of targets) {
    c.mounts.forEach((mount, mountIndex) => {
      if (!ours(mount)) return;
      const had = Array.isArray(mount.bindMountOptions) ? mount.bindMountOptions.filter((o): o is string => typeof o === 'string') : [];
      if (options.every(o => had.includes(o))) return;
      const union = [...had, ...options.filter(o => !had.includes(o))];
      edits.push({ field: c.field, index: c.index, mountIndex, name: c.name, hasOptions: mount.bindMountOptions !== undefined, options: union });
    });
  }
  return edits;
}

type SizeDecision =
  | { readonly sizeBytes: bigint; readonly sizeSource: SizeSource; readonly requestedBytes: bigint }
  | { readonly skip: SkipReason; readonly message: string }
  | { readonly deny: string };

/**
 * Steps 3 and 4 of the rule; adds the warnings that go with the size.
 * @param capAt the pod memory limit a size is capped at (with `limitFollows`, the limits grown by it)
 * @param declared with `limitFollows`: the limits as declared, which grow by the size
 */
function decideSize(
  policy: Policy, annotated: ReadonlySet<PolicySetting>, targets: readonly PodContainer[],
  basis: SizingBasis | undefined, unbounded: readonly PodContainer[],
  capAt: (sizeBytes: bigint) => PodMemoryLimit, warnings: PlanWarning[], declared?: DeclaredLimits,
): SizeDecision {
  let sizeBytes: bigint;
  let sizeSource: SizeSource;
  if (policy.size !== undefined) {
    sizeBytes = policy.size;
    sizeSource = annotated.has('size') ? 'size-annotation' : 'size';
  } else if (basis) {
    const { ratio } = policy;
    sizeBytes = roundDownToUnit(floor({ num: basis.bytes * ratio.num, den: ratio.den }));
    sizeSource = annotated.has('ratio') ? 'ratio-annotation' : 'ratio';
    if (policy.minimum !== undefined && sizeBytes < policy.minimum) {
      sizeBytes = policy.minimum;
      sizeSource = 'minimum';
    }
    if (policy.maximum !== undefined && sizeBytes > policy.maximum) {
      sizeBytes = policy.maximum;
      sizeSource = 'maximum';
    }
    // The runtime gives 64Mi; less would make the pod worse off. A minimum says what the user accepts
    // (and the only maximum that can lower a share below 64Mi comes with one: setting-rules.ts).
    if (policy.minimum === undefined && sizeBytes < RUNTIME_DEFAULT_SHM_BYTES) {
      return {
        skip: 'below-runtime-default',
        message: `${formatBytes(sizeBytes)} from the ratio is below the runtime's default 64Mi, which the pod keeps`,
      };
    }
  } else if (policy.podsWithoutLimit === 'fixed' && policy.fixedSize !== undefined) {
    sizeBytes = policy.fixedSize;
    sizeSource = 'fixed-size';
  } else {
    const without = withoutLimitText(targets);
    if (policy.podsWithoutLimit === 'deny') return { deny: `${without}: set a memory limit so /dev/shm can be sized from it` };
    return { skip: 'no-memory-limit', message: `${without}, so /dev/shm cannot be sized from a limit` };
  }
  const requestedBytes = sizeBytes;

  const limit = capAt(sizeBytes);
  if (limit.kind === 'limited' && sizeBytes > limit.bytes) {
    warnings.push({
      code: 'capped-at-limit',
      message: `/dev/shm capped at the pod memory limit ${formatBytes(limit.bytes)} (asked ${formatBytes(sizeBytes)})`,
    });
    sizeBytes = limit.bytes;
  }
  // With limitFollows the basis container's limit grows by the size: shared memory cannot OOM it.
  if (basis && sizeBytes >= basis.bytes && !declared?.byName.has(basis.container.name)) {
    const relation = sizeBytes > basis.bytes ? 'exceeds' : 'equals';
    warnings.push({
      code: `${relation}-basis`,
      message: `/dev/shm ${formatBytes(sizeBytes)} ${relation} the ${formatBytes(basis.bytes)} limit of ${describeContainer(basis.container)}: shm alone can OOM it`,
      container: basis.container.name,
    });
  }
  if (!basis) {
    warnings.push({ code: 'no-memory-limit', message: `${withoutLimitText(targets)}; /dev/shm pages are charged to no bound` });
  } else {
    for (const container of unbounded) {
      warnings.push({ code: 'unbounded-container', message: `${describeContainer(container)} has no memory limit; the /dev/shm pages it writes are not bounded`, container: container.name });
    }
  }
  if (sizeBytes < RUNTIME_DEFAULT_SHM_BYTES) {
    warnings.push({ code: 'below-runtime-default', message: `/dev/shm ${formatBytes(sizeBytes)} is smaller than the runtime's default 64Mi` });
  }
  return { sizeBytes, sizeSource, requestedBytes };
}

/** What the user should know about limits that follow `/dev/shm`. */
function noteGrowth(growth: { growth: readonly LimitGrowth[]; edits: readonly ResourceEdit[] }, warnings: PlanWarning[]): void {
  if (growth.growth.length === 0) {
    warnings.push({
      code: 'limit-not-grown',
      message: 'limitFollows: no container that writes /dev/shm has a memory limit to grow; shared memory is bounded by nothing but /dev/shm',
    });
  }
  const requests = growth.edits.filter(e => e.kind === 'requests').map(e => (e.at === 'pod' ? 'the pod-level request' : `'${e.name}'`));
  if (requests.length > 0) {
    warnings.push({
      code: 'request-grown',
      message: `limitFollows: the memory request of ${requests.join(', ')} grows with its limit (it equalled it); a ResourceQuota counts it`,
    });
  }
}

/** The edit that gives an annotation its value, or none when it has it already. */
function annotationEdit(annotations: JsonObject, key: string, value: string): AnnotationEdit | undefined {
  const current = annotations[key];
  return current === value ? undefined : { key, value, exists: current !== undefined };
}

/** Annotations for the per-pod settings that were chosen explicitly and that the pod does not carry yet. */
function choiceAnnotations(annotations: JsonObject, chosen: PolicyInput, annotated: ReadonlySet<PolicySetting>): AnnotationEdit[] {
  const edits: AnnotationEdit[] = [];
  for (const [setting, key] of POD_SETTING_ANNOTATIONS) {
    const value = chosen[setting];
    if (value === undefined || annotated.has(setting)) continue;
    const edit = annotationEdit(annotations, key, settingText(value));
    if (edit) edits.push(edit);
  }
  return edits;
}

type FoundVolume =
  /** No /dev/shm yet, and the volume name is free. */
  | { readonly kind: 'fresh' }
  /** Our volume from an earlier run. */
  | { readonly kind: 'ours'; readonly name: string; readonly index: number; readonly emptyDir: JsonObject }
  /** The pod's own memory-backed emptyDir at /dev/shm, without a sizeLimit. */
  | {
    readonly kind: 'unbounded';
    readonly name: string;
    readonly index: number;
    readonly emptyDir: JsonObject;
    readonly mountedBy: readonly PodContainer[];
    readonly description: string;
  }
  | { readonly kind: 'skip'; readonly reason: SkipReason; readonly message: string };

/**
 * Whose `/dev/shm` the pod has: none, ours (our volume, memory-backed, and our size annotation),
 * or the user's. A user's memory-backed emptyDir without `sizeLimit` may be sized by the rule;
 * anything else the user put at /dev/shm is theirs to keep.
 */
function findShmVolume(view: PodVolumes, volumeName: string, sized: boolean): FoundVolume {
  const indexOf = (name: unknown) => view.volumes.findIndex(v => v.name === name);
  const index = indexOf(volumeName);
  const emptyDir = index >= 0 ? objectAt(view.volumes[index].emptyDir) : undefined;
  const ours = emptyDir !== undefined && emptyDir.medium === 'Memory' && sized;
  const shmMounts = view.containers.flatMap(c => c.mounts
    .filter(m => normalizeMountPath(m.mountPath) === SHM_MOUNT_PATH)
    .map(m => ({ container: c, volume: m.name })));
  const foreign = shmMounts.filter(m => !ours || m.volume !== volumeName);
  if (foreign.length > 0) {
    const first = foreign[0];
    const description = `${describeContainer(first.container)} ${ours ? '' : 'already '}mounts volume '${text(first.volume)}' at ${SHM_MOUNT_PATH}`;
    const userIndex = indexOf(first.volume);
    const userEmptyDir = userIndex >= 0 ? objectAt(view.volumes[userIndex].emptyDir) : undefined;
    const oneVolume = shmMounts.every(m => m.volume === first.volume);
    if (!ours && oneVolume && userEmptyDir?.medium === 'Memory' && userEmptyDir.sizeLimit === undefined) {
      return {
        kind: 'unbounded',
        name: String(first.volume),
        index: userIndex,
        emptyDir: userEmptyDir,
        mountedBy: view.containers.filter(c => shmMounts.some(m => m.container === c)),
        description,
      };
    }
    return { kind: 'skip', reason: 'user-shm-mount', message: description };
  }
  if (index >= 0 && !ours) {
    return { kind: 'skip', reason: 'volume-name-taken', message: `the pod already has a volume named '${volumeName}' that is not a memory-backed /dev/shm` };
  }
  return ours ? { kind: 'ours', name: volumeName, index, emptyDir: emptyDir! } : { kind: 'fresh' };
}

/** Why there is no basis: the app containers and sidecars among the targets have no limit, or there are none. */
function withoutLimitText(targets: readonly PodContainer[]): string {
  const beside = targets.filter(c => c.role !== 'init container');
  if (beside.length === 0) return `only init containers get the mount (${describeContainers(targets)}), and they do not set the size`;
  return `${describeContainers(beside)} ${beside.length === 1 ? 'has' : 'have'} no memory limit`;
}

/**
 * What a size was decided from, for messages: `container 'app' limit 4Gi, pod limit 4Gi`.
 * @param plan a plan (any action)
 */
export function describeSizing(plan: Pick<ShmPlan, 'basis' | 'limit'>): string {
  const { basis, limit } = plan;
  const podLimit = limit?.kind === 'limited' ? `pod limit ${formatBytes(limit.bytes)}` : 'no pod limit';
  if (!basis) return limit?.kind === 'limited' ? podLimit : 'no memory limit';
  const writer = `${basis.role} '${basis.container}'`;
  const limitText = basis.fromPodLevel ? `pod-level limit ${formatBytes(basis.bytes)} for ${writer}` : `${writer} limit ${formatBytes(basis.bytes)}`;
  return `${limitText}, ${podLimit}`;
}

/** Sizes derived from a ratio are rounded down to whole mebibytes, so that they read well. */
function roundDownToUnit(bytes: bigint): bigint {
  return bytes >= RATIO_SIZE_UNIT_BYTES ? (bytes / RATIO_SIZE_UNIT_BYTES) * RATIO_SIZE_UNIT_BYTES : bytes;
}

/** `container 'a'`, `containers 'a' and 'b'`. */
function describeNames(names: readonly string[]): string {
  const quotedNames = names.map(n => `'${n}'`);
  return names.length === 1 ? `container ${quotedNames[0]}` : `containers ${quotedNames.slice(0, -1).join(', ')} and ${quotedNames[quotedNames.length - 1]}`;
}

/** `JSON.stringify` for messages, which overflows the stack on deep nesting; see `text`. */
function quoted(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return text(value);
  }
}

function safeBytes(value: string | number): bigint | undefined {
  try {
    return bytesCeil(value);
  } catch {
    return undefined;
  }
}
