/**
 * After an in-place resize: the `/dev/shm` the rule gives a running pod under its new memory limits,
 * and what a way in does about the one it keeps.
 *
 * What Kubernetes does (v1.37.2's source; the README's "After a resize" has the file references):
 * - A resize changes the containers' (and the pod-level) resources through the `pods/resize`
 *   subresource; the tmpfs of a memory-backed emptyDir keeps the size it was mounted with. Only with
 *   the alpha gate `InPlacePodVerticalScalingMemoryBackedVolumes` (1.37, API server and kubelet,
 *   cgroup v2 nodes) may the same resize change an existing, non-zero `sizeLimit` of a medium
 *   Memory emptyDir, and the kubelet remounts the tmpfs at exactly that size. With the gate off on
 *   the API server, a `sizeLimit` change in a resize is dropped without a word.
 * - So the `/dev/shm` a pod has is its volume's `sizeLimit` (every way in caps it at the pod limit
 *   at creation), and after a resize it can be far from what the rule gives: after a shrink it can
 *   reach the writer's new limit, and shared memory alone then OOM-kills the writer instead of
 *   failing with ENOSPC.
 *
 * The rule itself is not written again: the resized pod carries our annotations and volume, so
 * `planSharedMemory` of it gives the size under the new limits. Two cases keep the size whatever the
 * rule says: a pod whose limits follow its `/dev/shm` (`limitFollows`: the user's new limit is the
 * new total, and growing it back would revert the resize), and a resize that sets `sizeLimit` itself.
 */
import { sizingBasis } from './basis';
import { JsonObject, isObject, objectAt } from './json';
import { SIZE_LIMIT_ANNOTATION } from './names';
import { JsonPatchOperation } from './patch';
import { PodLike, ShmPlan, planSharedMemory } from './plan';
import { readPodResources } from './pod-limit';
import { readPodPolicy } from './pod-policy';
import { describeContainer, readPodVolumes } from './pod-view';
import { Policy } from './policy';
import { bytesCeil, formatBytes } from './quantity';
import { settingAnnotation } from './settings';

/** What the pod's volume should do after the resize. */
export type ResizeAction =
  /** Change its `sizeLimit` to the rule's size under the new limits. */
  | 'follow'
  /** It is what the rule gives already. */
  | 'unchanged'
  /** Keep its size: the limits follow `/dev/shm`, the rule gives none under the new limits, or the resize sets `sizeLimit` itself. */
  | 'keep'
  /** The pod has no `/dev/shm` of ours: nothing follows. */
  | 'not-ours';

/** What the way in does with the resize request. */
export type ResizeOutcome =
  /** Add the new `sizeLimit` to the resize (`resizeVolumes`). */
  | 'resize'
  /** Refuse it (`denyUnsafeShrink` and an unsafe shrink). */
  | 'deny'
  /** Let it through unchanged, with `warnings`. */
  | 'allow';

/** A writer whose new limit the `/dev/shm` the pod keeps reaches. */
export interface EndangeredWriter {
  /** `container 'app'`, `sidecar 'proxy'`. */
  readonly description: string;
  readonly limitBytes: bigint;
  /** The container has no limit of its own; the pod-level limit stands in. */
  readonly fromPodLevel: boolean;
}

/** The decision about one resize. */
export interface ResizePlan {
  readonly action: ResizeAction;
  readonly outcome: ResizeOutcome;
  /** One line: what happens to `/dev/shm` and why. */
  readonly message: string;
  readonly volumeName: string;
  /** Where our volume is in `spec.volumes`. */
  readonly volumeIndex?: number;
  /** The `/dev/shm` the pod has: its volume's `sizeLimit`. */
  readonly currentBytes?: bigint;
  readonly current?: string;
  /** The rule's size under the new limits (absent: the rule gives none, see `plan`). */
  readonly ruleBytes?: bigint;
  readonly rule?: string;
  /** The writer the size is a share of, when the `/dev/shm` the pod keeps is at or above its new limit. */
  readonly atOrAboveWriter?: EndangeredWriter;
  /** The resize lowered that writer's limit to or below the `/dev/shm` the pod keeps: the danger is the resize's doing. */
  readonly unsafe: boolean;
  /** What the client is told (each one line). */
  readonly warnings: readonly string[];
  /** Why the resize is refused, and what to do (when `outcome` is `deny`). */
  readonly denial?: string;
  /** The rule's plan of the resized pod. */
  readonly plan: ShmPlan;
}

/** Our volume in a pod: where it is and its `sizeLimit` as the kubelet reads it. */
interface OurVolume {
  readonly index: number;
  readonly sizeLimitBytes?: bigint;
}

/**
 * Plans `/dev/shm` after a resize. Never throws.
 * @param stored the pod as stored (the `/dev/shm` it has, the limits before the resize)
 * @param resized the pod as the resize asks for it (its new resources)
 * @param wayInPolicy the policy of the way in (a pod's annotations decide over it, as at creation)
 */
export function planResize(stored: PodLike, resized: PodLike, wayInPolicy: Policy): ResizePlan {
  const plan = planSharedMemory(resized, wayInPolicy);
  const annotations = objectAt(objectAt(resized?.metadata)?.annotations) ?? {};
  const before = ourVolume(stored, plan.volumeName, annotations);
  const after = ourVolume(resized, plan.volumeName, annotations);
  const base = { volumeName: plan.volumeName, plan };
  if (!before || !after || before.sizeLimitBytes === undefined) {
    return { ...base, action: 'not-ours', outcome: 'allow', unsafe: false, warnings: [], message: 'the pod has no /dev/shm of cdk8s-shm' };
  }
  const currentBytes = before.sizeLimitBytes;
  const current = formatBytes(currentBytes);
  const sized = plan.action === 'update' || plan.action === 'unchanged' ? plan.sizeBytes : undefined;
  const rule = sized === undefined ? {} : { ruleBytes: sized, rule: formatBytes(sized) };
  const known = { ...base, ...rule, volumeIndex: after.index, currentBytes, current };

  // The /dev/shm the pod has after the resize, before anything of ours: a sizeLimit the resize sets
  // itself takes effect only where the cluster keeps volume changes (resizeVolumes).
  const setsOwn = after.sizeLimitBytes !== currentBytes;
  const keptBytes = setsOwn && wayInPolicy.resizeVolumes && after.sizeLimitBytes !== undefined ? after.sizeLimitBytes : currentBytes;
  const kept = formatBytes(keptBytes);
  let action: ResizeAction;
  let why: string;
  if (setsOwn) {
    [action, why] = ['keep', `the resize sets sizeLimit ${after.sizeLimitBytes === undefined ? '(none)' : formatBytes(after.sizeLimitBytes)} itself`];
  } else if (plan.limitGrowth !== undefined) {
    [action, why] = ['keep', `its limits follow /dev/shm (${settingAnnotation('limitFollows')}), so /dev/shm stays ${current} on top of the new limits`];
  } else if (sized === undefined) {
    [action, why] = ['keep', `under the new limits the rule gives no /dev/shm (${plan.reason}: ${plan.message})`];
  } else if (sized === currentBytes) {
    [action, why] = ['unchanged', `/dev/shm ${current} is what the rule gives under the new limits`];
  } else {
    [action, why] = ['follow', `the rule gives ${formatBytes(sized)} under the new limits`];
  }

  const writer = endangeredWriter(resized, plan.targets, keptBytes);
  // The danger is the resize's doing when it lowered the writer's limit to the /dev/shm, or raised the /dev/shm to the limit.
  const raised = keptBytes > currentBytes;
  const lowered = writer !== undefined && (raised || loweredBelow(stored, plan.targets, writer.limitBytes));
  const unsafe = writer !== undefined && lowered && !(action === 'follow' && wayInPolicy.resizeVolumes);
  const decided = decide({
    action, current, kept, raised, rule: rule.rule, why, writer: unsafe ? writer : undefined, policy: wayInPolicy, annotations,
  });
  return { ...known, action, ...(writer ? { atOrAboveWriter: writer } : {}), unsafe, ...decided };
}

/** What the way in does, and what it says. */
function decide(d: {
  action: ResizeAction;
  current: string;
  kept: string;
  raised: boolean;
  rule?: string;
  why: string;
  writer?: EndangeredWriter;
  policy: Policy;
  annotations: JsonObject;
}): Pick<ResizePlan, 'outcome' | 'message' | 'warnings' | 'denial'> {
  const { action, current, kept, rule, why, writer, policy } = d;
  if (action === 'follow' && policy.resizeVolumes) {
    return { outcome: 'resize', message: `/dev/shm follows the resize: ${current} -> ${rule} (${why})`, warnings: [`/dev/shm follows the resize: ${current} -> ${rule}`] };
  }
  const warnings: string[] = [];
  if (action === 'follow') warnings.push(`/dev/shm stays ${current} until the pod is recreated; the rule gives ${rule} under the new limits`);
  if (action === 'keep' && why.startsWith('under the new limits')) warnings.push(`/dev/shm stays ${current} until the pod is recreated; ${why}`);
  const stays = action === 'follow' ? `/dev/shm stays ${current} until the pod is recreated (${why})`
    : kept !== current ? `/dev/shm becomes ${kept}: ${why}` : `/dev/shm stays ${current}: ${why}`;
  if (!writer) return { outcome: 'allow', message: stays, warnings };

  const danger = `/dev/shm ${kept} is at or above the new ${formatBytes(writer.limitBytes)} limit of ${writer.description}`;
  if (!denies(policy, d.annotations)) {
    return { outcome: 'allow', message: `${stays}; ${danger}`, warnings: [...warnings, `${danger}: shared memory alone can OOM-kill it`] };
  }
  const denial = d.raised ? raisedDenial(kept, writer) : loweredDenial(current, rule, writer);
  return { outcome: 'deny', message: denial, warnings, denial };
}

const OOM_KILL = `so shared memory alone could OOM-kill it (${settingAnnotation('denyUnsafeShrink')})`;

/** The resize brought the writer's limit down to the `/dev/shm` the pod keeps. */
function loweredDenial(current: string, rule: string | undefined, writer: EndangeredWriter): string {
  const instead = rule ? `recreate the pod with the new limits (the rule gives it ${rule})` : 'recreate the pod with the new limits';
  return `the resize lowers the memory limit of ${writer.description} to ${formatBytes(writer.limitBytes)}, at or below its /dev/shm of ${current}, `
    + `which keeps its size until the pod is recreated, ${OOM_KILL}. `
    + `Keep the limit above ${current}, ${instead}, or, where the cluster resizes memory-backed volumes in place (Kubernetes 1.37+, `
    + 'InPlacePodVerticalScalingMemoryBackedVolumes), turn on resizeVolumes';
}

/** The resize's own sizeLimit, which the cluster keeps, reaches the writer's limit. */
function raisedDenial(kept: string, writer: EndangeredWriter): string {
  return `the resize sets the /dev/shm of ${writer.description} to ${kept}, at or above its ${formatBytes(writer.limitBytes)} memory limit, ${OOM_KILL}. `
    + `Keep sizeLimit below ${formatBytes(writer.limitBytes)}, or leave it out of the resize so that the rule sizes /dev/shm from the new limits`;
}

/** `denyUnsafeShrink`: the pod's annotation, or the way in's policy. An annotation that cannot be read leaves the policy's. */
function denies(policy: Policy, annotations: JsonObject): boolean {
  const pod = readPodPolicy(annotations, policy);
  return 'invalid' in pod ? policy.denyUnsafeShrink : pod.policy.denyUnsafeShrink;
}

/**
 * Our volume: the one of that name, memory-backed, in a pod that carries our size annotation (the
 * mark every way in leaves on a pod it sized).
 */
function ourVolume(pod: PodLike, volumeName: string, annotations: JsonObject): OurVolume | undefined {
  if (typeof annotations[SIZE_LIMIT_ANNOTATION] !== 'string' || !isObject(pod) || !isObject(pod.spec)) return undefined;
  const volumes = pod.spec.volumes;
  if (!Array.isArray(volumes)) return undefined;
  const index = volumes.findIndex(v => isObject(v) && v.name === volumeName);
  const emptyDir = index >= 0 ? objectAt(objectAt(volumes[index])?.emptyDir) : undefined;
  if (!emptyDir || emptyDir.medium !== 'Memory') return undefined;
  return { index, sizeLimitBytes: quantityBytes(emptyDir.sizeLimit) };
}

/** A non-zero quantity in bytes, rounded up as the kubelet reads it; undefined when absent, zero or unreadable. */
function quantityBytes(value: unknown): bigint | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  try {
    const bytes = bytesCeil(value);
    return bytes > 0n ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The writer the size is a share of (the largest limit among the targets that run beside the
 * application), when `/dev/shm` is at or above its limit: the rule's own `equals-basis` and
 * `exceeds-basis` condition, on the limits the pod has now.
 */
function endangeredWriter(pod: PodLike, targetNames: readonly string[], shmBytes: bigint): EndangeredWriter | undefined {
  const basis = basisOf(pod, targetNames);
  if (!basis || shmBytes < basis.bytes) return undefined;
  return { description: describeContainer(basis.container), limitBytes: basis.bytes, fromPodLevel: basis.fromPodLevel };
}

/** Whether the writers' largest limit was above `bytes` before the resize (so the resize brought it down to it). */
function loweredBelow(pod: PodLike, targetNames: readonly string[], bytes: bigint): boolean {
  const before = basisOf(pod, targetNames);
  return before !== undefined && before.bytes > bytes;
}

function basisOf(pod: PodLike, targetNames: readonly string[]) {
  if (!isObject(pod) || !isObject(pod.spec)) return undefined;
  const view = readPodVolumes(pod.spec);
  const resources = readPodResources(pod.spec);
  if (typeof view === 'string' || resources.kind === 'invalid') return undefined;
  const targets = view.containers.filter(c => targetNames.includes(c.name));
  return sizingBasis(targets, resources).basis;
}

/**
 * The resize's patch: the new `sizeLimit` of our volume, when the outcome is `resize`. The API
 * server keeps it only where the gate is on (strategy.go dropNonResizeUpdatesForVolumes).
 */
export function resizeToPatch(resize: ResizePlan): JsonPatchOperation[] {
  if (resize.outcome !== 'resize' || resize.rule === undefined || resize.volumeIndex === undefined) return [];
  return [{ op: 'replace', path: `/spec/volumes/${resize.volumeIndex}/emptyDir/sizeLimit`, value: resize.rule }];
}
