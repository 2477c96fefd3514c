/**
 * The settings of a sizing policy in one table, and one reader for each.
 *
 * A setting has one name everywhere: the construct option and the Helm value (`volumeName`), the
 * flag of the webhook and the CLI (`--volume-name`), and the pod annotation
 * (`cdk8s-shm.io/volume-name`). Flags, environment variables and annotations are text, so every
 * one of them is read here, by `readSetting`, and validated on its own with a message that names
 * where the text came from; `resolvePolicy` then checks the settings together.
 */
import { compare, parseDecimal } from './decimal';
import { ANNOTATION_PREFIX } from './names';
import { bytesFloor } from './quantity';

/** A policy as users write it: every field optional, quantities as text or numbers. */
export interface PolicyInput {
  /** Share of the basis (the largest memory limit among the containers that write `/dev/shm`), 0 < ratio <= 1. Default 0.5. */
  readonly ratio?: string | number;
  /** An explicit size; excludes `ratio`, `minimum` and `maximum`. */
  readonly size?: string | number;
  /** Lower bound for a ratio-derived size (still capped at the pod limit); below the runtime's 64Mi it lets small pods be injected. */
  readonly minimum?: string | number;
  /** Upper bound for a ratio-derived size. */
  readonly maximum?: string | number;
  /** Name of the injected volume. Default `dshm`. */
  readonly volumeName?: string;
  /** Only these containers (app, sidecar or init) get the mount. Default: all of them. */
  readonly containers?: readonly string[];
  /** Whether init containers and sidecars get the mount when `containers` is not given. Default true. */
  readonly includeInitContainers?: boolean;
  /** Default `opt-out`. */
  readonly podSelection?: Selection;
  /** Default `skip`. */
  readonly podsWithoutLimit?: WithoutLimit;
  /** The size given to pods without a memory limit when `podsWithoutLimit` is `fixed`. */
  readonly fixedSize?: string | number;
  /**
   * Whether a `/dev/shm` the pod brings itself, a memory-backed emptyDir without `sizeLimit` (as
   * large as the node), is sized by the same rule instead of left alone. Default false.
   */
  readonly sizeUnboundedShm?: boolean;
  /**
   * Whether the writers' memory limits grow by the `/dev/shm` size, so that shared memory comes on
   * top of the application's own memory instead of out of it (limit-growth.ts). Default false.
   */
  readonly limitFollows?: boolean;
  /**
   * Whether the cluster resizes memory-backed volumes in place (Kubernetes 1.37+ with the alpha
   * gate `InPlacePodVerticalScalingMemoryBackedVolumes` on the API server and every kubelet, cgroup
   * v2 nodes): a resize of a pod's memory limits then carries the `/dev/shm` the rule gives under
   * the new limits (resize.ts). A cluster's property, not a pod's. Default false.
   */
  readonly resizeVolumes?: boolean;
  /**
   * Whether a resize the volume cannot follow is refused when it leaves `/dev/shm` at or above the
   * new limit of the container that writes it (resize.ts). Default false: such a resize passes, with
   * a warning.
   */
  readonly denyUnsafeShrink?: boolean;
  /**
   * Whether our `/dev/shm` mounts ask for the runtime's own hardening, `bindMountOptions` `nosuid`,
   * `nodev`, `noexec` (Kubernetes 1.37+, alpha gate `VolumeBindMountOptions`). Default false.
   */
  readonly hardenMount?: boolean;
}

/** Which pods get a `/dev/shm`: all but those annotated `inject: "false"`, or only those annotated `inject: "true"`. */
export type Selection = 'opt-out' | 'opt-in';

/** What to do with a pod that has no memory limit and no explicit size. */
export type WithoutLimit = 'skip' | 'deny' | 'fixed';

export const SELECTIONS: readonly Selection[] = ['opt-out', 'opt-in'];
export const WITHOUT_LIMIT_MODES: readonly WithoutLimit[] = ['skip', 'deny', 'fixed'];

export type PolicySetting = keyof PolicyInput;

/** What text a setting takes. */
type SettingKind = 'ratio' | 'quantity' | 'name' | 'names' | 'boolean' | 'podSelection' | 'pods-without-limit';

interface SettingSpec {
  readonly kind: SettingKind;
  /**
   * Whether a pod annotation may say it. `selection` is the cluster's choice of which pods to
   * consider at all; a pod says its part with `cdk8s-shm.io/inject`.
   */
  readonly perPod: boolean;
}

/** Every setting, in the order tables list them. */
const SETTINGS: Record<PolicySetting, SettingSpec> = {
  ratio: { kind: 'ratio', perPod: true },
  size: { kind: 'quantity', perPod: true },
  minimum: { kind: 'quantity', perPod: true },
  maximum: { kind: 'quantity', perPod: true },
  containers: { kind: 'names', perPod: true },
  includeInitContainers: { kind: 'boolean', perPod: true },
  volumeName: { kind: 'name', perPod: true },
  podsWithoutLimit: { kind: 'pods-without-limit', perPod: true },
  fixedSize: { kind: 'quantity', perPod: true },
  sizeUnboundedShm: { kind: 'boolean', perPod: true },
  limitFollows: { kind: 'boolean', perPod: true },
  denyUnsafeShrink: { kind: 'boolean', perPod: true },
  hardenMount: { kind: 'boolean', perPod: true },
  podSelection: { kind: 'podSelection', perPod: false },
  // Whether the API server and the kubelets resize memory-backed volumes is the cluster's, and a pod
  // that said "true" on a cluster without the gates would have its sizeLimit change dropped silently.
  resizeVolumes: { kind: 'boolean', perPod: false },
};

export const POLICY_SETTINGS = Object.keys(SETTINGS) as readonly PolicySetting[];

/** The settings that are `true` or `false`. */
export const BOOLEAN_SETTINGS: readonly PolicySetting[] = POLICY_SETTINGS.filter(s => SETTINGS[s].kind === 'boolean');

/** The settings a pod annotation may carry. */
export const POD_SETTINGS: readonly PolicySetting[] = POLICY_SETTINGS.filter(s => SETTINGS[s].perPod);

/** `volumeName` → `volume-name`: the flag without its dashes, and the annotation without its prefix. */
export function kebabName(setting: PolicySetting): string {
  return setting.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`);
}

/** `--volume-name`. */
export function settingFlag(setting: PolicySetting): string {
  return `--${kebabName(setting)}`;
}

/** `cdk8s-shm.io/volume-name`. */
export function settingAnnotation(setting: PolicySetting): string {
  return `${ANNOTATION_PREFIX}${kebabName(setting)}`;
}

/** Every per-pod setting with its annotation key, in table order. */
export const POD_SETTING_ANNOTATIONS: readonly (readonly [PolicySetting, string])[] = POD_SETTINGS.map(s => [s, settingAnnotation(s)]);

/** The setting of each per-pod annotation key. */
export const SETTING_OF_ANNOTATION: ReadonlyMap<string, PolicySetting> = new Map(POD_SETTING_ANNOTATIONS.map(([s, key]) => [key, s]));

/**
 * Reads one setting from text (a flag, an environment variable, an annotation). Only the text's
 * form is checked here (a list is split, a boolean read); the value's range is `resolvePolicy`'s.
 * @param label where the text came from, for messages: `--containers`, `'cdk8s-shm.io/containers'`
 * @returns the value for `PolicyInput`, or an error message naming `label`
 */
export function readSetting<S extends PolicySetting>(setting: S, text: string, label: string): PolicyInput[S] | { error: string } {
  switch (SETTINGS[setting].kind) {
    case 'names': {
      const names = text.split(',').map(n => n.trim());
      if (names.some(n => n === '')) return { error: `${label} (${JSON.stringify(text)}) must be container names separated by commas` };
      return names as unknown as PolicyInput[S];
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false') return { error: `${label} (${JSON.stringify(text)}) must be "true" or "false"` };
      return (text === 'true') as unknown as PolicyInput[S];
    default:
      return text as unknown as PolicyInput[S];
  }
}

/** A setting's value as text: what an annotation or a flag holds. Lists are joined with commas. */
export function settingText(value: NonNullable<PolicyInput[PolicySetting]>): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

/**
 * Whether two values of a setting mean the same: `0.25` and `".250"`, `1Gi` and `1024Mi`, the
 * same containers in another order. Values that do not parse are the same only as equal text.
 */
export function sameSetting(setting: PolicySetting, a: unknown, b: unknown): boolean {
  try {
    switch (SETTINGS[setting].kind) {
      case 'ratio':
        return compare(parseDecimal(String(a)), parseDecimal(String(b))) === 0;
      case 'quantity':
        return bytesFloor(a as string | number) === bytesFloor(b as string | number);
      case 'names': {
        const sorted = (v: unknown) => [...(v as string[])].sort().join(',');
        return sorted(a) === sorted(b);
      }
      default:
        return a === b;
    }
  } catch {
    return String(a) === String(b);
  }
}
