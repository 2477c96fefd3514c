/**
 * Where the MutatingAdmissionPolicy cannot follow the rule exactly, and what it does
 * instead: it leaves the pod alone, as the rule leaves a pod it skips. It never gives a size of
 * its own.
 *
 * The policy (src/constructs/admission-policy/cel.ts) runs the rule in CEL, inside the API server.
 * CEL has 64-bit integers that fail on overflow, float64, the Kubernetes quantity library, list
 * functions and no loops; the core has arbitrary precision. The bounds below are the ones that CEL
 * uses, so that `planForAdmissionPolicy` says exactly what the policy does. It wraps the rule
 * (plan.ts), which knows nothing of any way in's limits:
 *
 * - A quantity is read exactly below 2^53 bytes (8Pi), where a float64 still tells the integers
 *   apart (a fractional one, `966367641600m`, is rounded through one); from there on, and in
 *   pods within the bounds below, no sum of limits can overflow CEL's 64-bit integers either.
 * - A `cdk8s-shm.io/ratio` with an exponent (`5e-1`) or more than 9 decimal places is not read.
 * - A mount path with a `..` element: cleaning it needs a stack (`/dev/./shm` and `//dev/shm`
 *   are cleaned).
 * - Names in `cdk8s-shm.io/containers` around which U+0085 or U+FEFF stand: JavaScript's trim and
 *   Go's disagree on those two characters.
 * - A pod so large that evaluating the policy passes the API server's CEL cost budget: the
 *   policy fails and the pod is admitted unchanged (see POLICY_COST_BOUNDS).
 * - A pod that asks for `cdk8s-shm.io/limit-follows: "true"` (limit-growth.ts): growing limits is
 *   safe only where the namespace's LimitRange and ResourceQuota allow it, which CEL cannot read;
 *   the policy leaves such pods alone (the webhook and the constructs grow them).
 * - `cdk8s-shm.io/harden-mount` (or the policy's `hardenMount`) on an API server before 1.37, whose
 *   API lacks `bindMountOptions`: the mutation fails (strict decoding) and the pod is admitted
 *   unchanged. Not a difference planning can see (it depends on the cluster's version).
 */
import { isObject, objectAt } from './json';
import { ANNOTATION_PREFIX } from './names';
import { PodLike, ShmPlan, planSharedMemory } from './plan';
import { Policy } from './policy';
import { parseQuantity } from './quantity';
import { settingAnnotation } from './settings';

/** Quantities (in bytes) from this magnitude on are not read by the policy: a float64 no longer tells the integers apart. */
export const POLICY_QUANTITY_BOUND = 2n ** 53n;
/** A `cdk8s-shm.io/ratio` is read in billionths (the quantity `<ratio>G`): at most this many decimal places. */
export const POLICY_RATIO_DIGITS = 9;
/** The form of a `cdk8s-shm.io/ratio` the policy reads (no exponent; a digit somewhere). */
export const POLICY_RATIO_PATTERN = '^[+-]?[0-9]*(\\.[0-9]*)?$';
/** Characters JavaScript's `trim()` and Go's `strings.TrimSpace` disagree on. */
export const TRIM_DISAGREEMENTS: readonly string[] = ['\u0085', '\ufeff'];
/** The per-pod settings that are quantities. */
export const QUANTITY_SETTINGS = ['size', 'minimum', 'maximum', 'fixedSize'] as const;

/**
 * The largest pods the policy is known to size within the API server's CEL cost budget (the
 * corner of all of them is measured in test/admission-policy-cel.test.ts): containers (app and
 * init), mounts in one container, volumes, and characters in one cdk8s-shm.io/ annotation.
 * Beyond these the policy may fail on a pod, which is then admitted unchanged.
 */
export const POLICY_COST_BOUNDS = { containers: 256, mountsPerContainer: 64, volumes: 1024, annotationLength: 4096 } as const;

/** Which limit of the policy a pod runs into. */
export type AdmissionPolicyLimit = 'large-quantity' | 'ratio-form' | 'mount-path-backstep' | 'container-name-space' | 'cost' | 'limit-follows';

/** Why the admission policy treats a pod otherwise than the core. */
export interface AdmissionPolicyDifference {
  readonly limit: AdmissionPolicyLimit;
  /** What the policy cannot do for this pod, naming the field or the annotation. */
  readonly message: string;
  /** True for the cost budget: the policy may still manage; it is not known to. */
  readonly uncertain?: boolean;
}

/**
 * What the MutatingAdmissionPolicy does with a pod, when it differs from the core's plan.
 * @param pod the pod (or template) the plan is for
 * @param plan the core's plan for it
 * @returns undefined when the policy gives the pod exactly what the plan says
 */
export function admissionPolicyDifference(pod: PodLike, plan: ShmPlan): AdmissionPolicyDifference | undefined {
  // A skipped or unchanged pod is left alone by the policy as well, whatever it could read.
  if (plan.action !== 'inject' && plan.action !== 'update' && plan.action !== 'deny') return undefined;
  const spec = objectAt(pod.spec)!;
  const annotations = objectAt(objectAt(pod.metadata)?.annotations) ?? {};
  const difference = (limit: AdmissionPolicyLimit, message: string, uncertain?: boolean) => ({ limit, message, ...(uncertain ? { uncertain } : {}) });

  // Growing limits needs the namespace's LimitRange and ResourceQuota, which CEL cannot read.
  if (annotations[settingAnnotation('limitFollows')] === 'true') {
    return difference('limit-follows', `the pod asks for ${settingAnnotation('limitFollows')}: "true", and the policy never grows limits`);
  }

  const ratioKey = settingAnnotation('ratio');
  const ratio = annotations[ratioKey];
  if (typeof ratio === 'string' && !policyReadsRatio(ratio)) {
    return difference('ratio-form', `${ratioKey} (${JSON.stringify(ratio)}) has an exponent or more than ${POLICY_RATIO_DIGITS} decimal places`);
  }
  for (const setting of QUANTITY_SETTINGS) {
    const key = settingAnnotation(setting);
    if (typeof annotations[key] === 'string' && !policyReadsQuantity(annotations[key] as string)) {
      return difference('large-quantity', `${key} (${annotations[key]}) is 8Pi or more, beyond what CEL reads exactly`);
    }
  }
  const containersKey = settingAnnotation('containers');
  const names = annotations[containersKey];
  if (typeof names === 'string' && TRIM_DISAGREEMENTS.some(c => names.includes(c))) {
    return difference('container-name-space', `${containersKey} holds U+0085 or U+FEFF, which JavaScript and Go trim differently`);
  }

  const containers = [...listAt(spec.containers), ...listAt(spec.initContainers)].map(c => objectAt(c) ?? {});
  const quantities: Array<[string, unknown]> = [
    ...containers.map((c, i): [string, unknown] => [`the memory limit of container '${String(c.name ?? i)}'`, objectAt(objectAt(c.resources)?.limits)?.memory]),
    ['spec.resources.limits.memory', objectAt(objectAt(spec.resources)?.limits)?.memory],
    ['spec.overhead.memory', objectAt(spec.overhead)?.memory],
  ];
  if (plan.action === 'update') {
    const volume = listAt(spec.volumes).map(objectAt).find(v => v?.name === plan.volumeName);
    quantities.push([`the sizeLimit of volume '${plan.volumeName}'`, objectAt(volume?.emptyDir)?.sizeLimit]);
  }
  for (const [what, value] of quantities) {
    if (value !== undefined && value !== null && !policyReadsQuantity(value)) {
      return difference('large-quantity', `${what} (${value}) is 8Pi or more, beyond what CEL reads exactly`);
    }
  }

  for (const c of containers) {
    const backstep = listAt(c.volumeMounts).map(m => objectAt(m)?.mountPath).find(p => typeof p === 'string' && p.split('/').includes('..'));
    if (backstep !== undefined) return difference('mount-path-backstep', `container '${String(c.name)}' mounts at ${backstep}, a path with a '..' element`);
  }

  const volumes = listAt(spec.volumes).length;
  const mounts = Math.max(0, ...containers.map(c => listAt(c.volumeMounts).length));
  const annotation = Math.max(0, ...Object.entries(annotations).filter(([k]) => k.startsWith(ANNOTATION_PREFIX)).map(([, v]) => String(v).length));
  const bounds = POLICY_COST_BOUNDS;
  const large = containers.length > bounds.containers || mounts > bounds.mountsPerContainer || volumes > bounds.volumes;
  if (large || annotation > bounds.annotationLength) {
    return difference('cost', `the pod (${containers.length} containers, up to ${mounts} mounts in one, ${volumes} volumes, `
      + `an annotation of ours of ${annotation} characters) is larger than the policy is known to size within the API server's CEL cost budget`, true);
  }

  return undefined;
}

/**
 * Plans `/dev/shm` for a pod as the MutatingAdmissionPolicy sizes it: the rule's plan, or a skip
 * (`admission-policy-limit`) where the policy leaves the pod alone. Never throws.
 */
export function planForAdmissionPolicy(pod: PodLike, policy: Policy): ShmPlan {
  const plan = planSharedMemory(pod, policy);
  return isObject(pod) ? admissionPolicyPlan(pod, plan) : plan;
}

/** The rule's plan as the admission policy carries it out. */
function admissionPolicyPlan(pod: PodLike, plan: ShmPlan): ShmPlan {
  const difference = admissionPolicyDifference(pod, plan);
  if (!difference) return plan;
  const { volumeName, targets, annotated, warnings, unhonoured, limit, basis } = plan;
  const instead = plan.action === 'deny' ? `the core would deny it (${plan.message})` : `the core would have ${plan.message}`;
  return {
    volumeName,
    targets,
    annotated,
    warnings,
    unhonoured,
    limit,
    basis,
    action: 'skip',
    reason: 'admission-policy-limit',
    message: `the MutatingAdmissionPolicy ${difference.uncertain ? 'may leave' : 'leaves'} the pod alone: ${difference.message}; ${instead}`,
  };
}

/** Whether the policy reads this ratio text (one the core reads as a valid ratio) as the core does. */
export function policyReadsRatio(text: string): boolean {
  if (!new RegExp(POLICY_RATIO_PATTERN).test(text) || !/[0-9]/.test(text)) return false;
  const fraction = text.split('.')[1] ?? '';
  return fraction.replace(/0+$/, '').length <= POLICY_RATIO_DIGITS;
}

/** Whether the policy reads a quantity (one the core reads as valid) exactly as the core does. */
export function policyReadsQuantity(value: unknown): boolean {
  if (typeof value !== 'string' && typeof value !== 'number') return true;
  let rational;
  try {
    rational = parseQuantity(value);
  } catch {
    return true; // invalid for the core as well, which then skips the pod
  }
  const magnitude = rational.num < 0n ? -rational.num : rational.num;
  return magnitude < POLICY_QUANTITY_BOUND * rational.den;
}

function listAt(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
