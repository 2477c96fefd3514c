/**
 * A pod's own say: its `cdk8s-shm.io/` annotations, merged onto the policy of the way in that
 * reads it.
 *
 * Every per-pod setting can be an annotation (settings.ts names them), and an annotation decides
 * over the policy: that is how a pod sized by a construct keeps its size through the webhook, and
 * how a team overrides a cluster-wide default for one workload. `size` on one side and `ratio`,
 * `minimum` or `maximum` on the other exclude each other, so an annotated `size` drops the
 * policy's share and bounds, and an annotated share or bound drops the policy's `size`.
 */
import { JsonObject } from './json';
import {
  ANNOTATION_PREFIX, DECLARED_LIMITS_ANNOTATION, INJECT_ANNOTATION, PLUGIN_CHECKSUM_ANNOTATION, SERVER_CHECKSUM_ANNOTATION, SIZE_LIMIT_ANNOTATION,
} from './names';
import { Policy, PolicyError, resolvePolicy } from './policy';
import { excludedSettings } from './setting-rules';
import { POD_SETTING_ANNOTATIONS, PolicyInput, PolicySetting, SETTING_OF_ANNOTATION, readSetting, sameSetting, settingAnnotation, settingText } from './settings';

export interface PodPolicy {
  /** The policy that sizes this pod. */
  readonly policy: Policy;
  /** The settings the pod's annotations decided. */
  readonly annotated: ReadonlySet<PolicySetting>;
  /** `cdk8s-shm.io/` annotations that are not ours (typos, most likely). */
  readonly unknownAnnotations: readonly string[];
}

/** Why a pod's annotations cannot be used. */
export interface InvalidAnnotations {
  /** What is wrong, naming the annotations. */
  readonly invalid: string;
  /** Their keys. */
  readonly annotations: readonly string[];
}

/** Annotations of ours that carry no setting (the checksums are on our own programs' pods). */
export const ANNOTATIONS_WITHOUT_SETTING: ReadonlySet<string> = new Set([
  INJECT_ANNOTATION, SIZE_LIMIT_ANNOTATION, DECLARED_LIMITS_ANNOTATION, SERVER_CHECKSUM_ANNOTATION, PLUGIN_CHECKSUM_ANNOTATION,
]);
const NOTHING_ANNOTATED: ReadonlySet<PolicySetting> = new Set();

/**
 * The policy for one pod.
 * @param annotations the pod's (or template's) annotations
 * @param policy the policy of the way in
 * @returns the merged policy, or why the annotations cannot be used: a message naming them, and their keys
 */
export function readPodPolicy(annotations: JsonObject, policy: Policy): PodPolicy | InvalidAnnotations {
  const overrides: Record<string, unknown> = {};
  const unknownAnnotations: string[] = [];
  for (const key of Object.keys(annotations)) {
    if (!key.startsWith(ANNOTATION_PREFIX) || ANNOTATIONS_WITHOUT_SETTING.has(key)) continue;
    const setting = SETTING_OF_ANNOTATION.get(key);
    if (setting === undefined) {
      unknownAnnotations.push(key);
      continue;
    }
    const value = annotations[key];
    const label = `'${key}'`;
    if (typeof value === 'string') {
      const read = readSetting(setting, value, label);
      if (typeof read === 'object' && read !== null && 'error' in read) return { invalid: read.error, annotations: [key] };
      overrides[setting] = read;
    } else {
      overrides[setting] = value; // resolvePolicy names the wrong type
    }
  }
  const annotated = Object.keys(overrides) as PolicySetting[];
  if (annotated.length === 0) return { policy, annotated: NOTHING_ANNOTATED, unknownAnnotations };

  const merged: Record<string, unknown> = { ...policy.input };
  for (const setting of annotated) for (const excluded of excludedSettings(setting)) delete merged[excluded];
  Object.assign(merged, overrides);
  const labels = new Set(annotated);
  try {
    const podPolicy = resolvePolicy(merged as PolicyInput, undefined, s => labels.has(s) ? `'${settingAnnotation(s)}'` : `the policy's '${s}'`);
    return { policy: podPolicy, annotated: labels, unknownAnnotations };
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    // The annotations among the settings at fault; a rule broken by the annotations together with
    // the way in's own settings still has at least one annotation among them.
    const keys = error.settings.filter(s => labels.has(s)).map(settingAnnotation);
    return { invalid: error.message, annotations: keys.length > 0 ? keys : annotated.map(settingAnnotation) };
  }
}

/** A pod annotation that says otherwise than a setting given explicitly. */
export interface SettingConflict {
  /** The setting given explicitly. */
  readonly setting: PolicySetting;
  readonly value: string;
  /** The annotation that contradicts it, and what it says. */
  readonly annotation: string;
  readonly annotationValue: string;
}

/**
 * The pod's annotations that contradict settings given explicitly: the same setting with another
 * value, or one that excludes it (`cdk8s-shm.io/ratio` against an explicit `size`). The strict
 * constructs refuse these; every other way in lets the annotation decide.
 * @param annotations the pod's own annotations (before any way in wrote its own)
 * @param policy the policy whose explicit settings (`input`) are checked
 */
export function annotationConflicts(annotations: JsonObject, policy: Policy): SettingConflict[] {
  const conflicts: SettingConflict[] = [];
  const chosen = policy.input;
  for (const [setting, key] of POD_SETTING_ANNOTATIONS) {
    const raw = annotations[key];
    if (raw === undefined) continue;
    const read = typeof raw === 'string' ? readSetting(setting, raw, key) : raw;
    for (const other of [setting, ...excludedSettings(setting)]) {
      const value = chosen[other];
      if (value === undefined || (other === setting && sameSetting(setting, read, value))) continue;
      conflicts.push({ setting: other, value: settingText(value), annotation: key, annotationValue: String(raw) });
    }
  }
  return conflicts;
}
