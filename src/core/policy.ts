/**
 * The sizing policy: what the constructs' props, the webhook's flags, the CLI's flags and a pod's
 * annotations all turn into. Validation happens once, here, with messages that quote the setting
 * (by the name its caller knows it by) and the value.
 */
import { Rational, compare, parseDecimal, formatRational } from './decimal';
import { isDns1123Label } from './kube-names';
import { DEFAULT_RATIO, DEFAULT_VOLUME_NAME } from './names';
import { QuantityError, bytesFloor, formatBytes } from './quantity';
import { POLICY_SETTINGS, PolicyInput, PolicySetting, SELECTIONS, Selection, WITHOUT_LIMIT_MODES, WithoutLimit } from './settings';

/** A validated policy. Sizes are whole bytes. */
export interface Policy {
  readonly ratio: Rational;
  readonly size?: bigint;
  readonly minimum?: bigint;
  readonly maximum?: bigint;
  readonly volumeName: string;
  readonly containers?: readonly string[];
  readonly includeInitContainers: boolean;
  readonly selection: Selection;
  readonly withoutLimit: WithoutLimit;
  readonly fixedSize?: bigint;
  readonly sizeUnboundedShm: boolean;
  /**
   * The settings as given, validated, without the ones left out: what was chosen explicitly.
   * Pod annotations are merged onto it, and the ways in write it onto the pods they size.
   */
  readonly input: PolicyInput;
  /**
   * A way in whose own limits the plan must show: `admission-policy` plans what the
   * MutatingAdmissionPolicy does, which leaves alone the pods its CEL cannot size exactly
   * (admission-policy-limits.ts). Not a setting of the rule: no annotation or flag of the webhook
   * gives it. Default: the rule itself, as the constructs, the CLI and the webhook apply it.
   */
  readonly delivery?: Delivery;
}

/** How pods are reached, where that changes what they get: see `Policy.delivery`. */
export type Delivery = 'admission-policy';

/** A policy setting is invalid. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

/** How messages name a setting: `'ratio'` for props (the default), `--ratio` for flags, `'cdk8s-shm.io/ratio'` for annotations. */
export type SettingLabel = (setting: PolicySetting) => string;

const PROP_LABEL: SettingLabel = setting => `'${setting}'`;

/**
 * Validates a policy and resolves its defaults.
 * @param input what the user wrote
 * @param subject who wrote it, for messages (e.g. `SharedMemory for Deployment 'web'`)
 * @param label how messages name a setting
 * @throws PolicyError naming the setting, its value and the fix
 */
export function resolvePolicy(input: PolicyInput = {}, subject?: string, label: SettingLabel = PROP_LABEL): Policy {
  const where = subject ? ` in ${subject}` : '';
  const fail = (message: string): never => {
    throw new PolicyError(`${message}${where}`);
  };
  const size = (setting: 'size' | 'minimum' | 'maximum' | 'fixedSize'): bigint | undefined => {
    if (input[setting] === undefined) return undefined;
    const result = tryParseSize(input[setting], label(setting));
    return typeof result === 'string' ? fail(result) : result;
  };

  let ratio = parseDecimal(DEFAULT_RATIO);
  if (input.ratio !== undefined) {
    const result = tryParseRatio(input.ratio, label('ratio'));
    ratio = typeof result === 'string' ? fail(result) : result;
  }
  const exact = size('size');
  const minimum = size('minimum');
  const maximum = size('maximum');
  const fixedSize = size('fixedSize');

  if (exact !== undefined) {
    for (const other of ['ratio', 'minimum', 'maximum'] as const) {
      if (input[other] !== undefined) {
        fail(`${label('size')} (${input.size}) and ${label(other)} (${input[other]}) cannot both be set: ${label('size')} is exact, `
          + `${label(other)} shapes a size derived from a memory limit`);
      }
    }
  }
  if (minimum !== undefined && maximum !== undefined && minimum > maximum) {
    fail(`${label('minimum')} (${formatBytes(minimum)}) must not exceed ${label('maximum')} (${formatBytes(maximum)})`);
  }

  const volumeName = input.volumeName ?? DEFAULT_VOLUME_NAME;
  if (!isDns1123Label(volumeName)) {
    fail(`${label('volumeName')} (${JSON.stringify(volumeName)}) must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters`);
  }

  if (input.containers !== undefined) {
    if (!Array.isArray(input.containers) || input.containers.some(name => typeof name !== 'string' || name === '')) {
      fail(`${label('containers')} must be a list of container names, got ${JSON.stringify(input.containers)}`);
    }
    if (input.containers.length === 0) fail(`${label('containers')} is empty: leave it out to mount /dev/shm in every container`);
  }
  for (const setting of ['includeInitContainers', 'sizeUnboundedShm'] as const) {
    if (input[setting] !== undefined && typeof input[setting] !== 'boolean') fail(`${label(setting)} must be true or false, got ${JSON.stringify(input[setting])}`);
  }

  const selection = input.selection ?? 'opt-out';
  if (!SELECTIONS.includes(selection)) fail(`${label('selection')} (${selection}) must be one of ${SELECTIONS.join(', ')}`);
  const withoutLimit = input.withoutLimit ?? 'skip';
  if (!WITHOUT_LIMIT_MODES.includes(withoutLimit)) fail(`${label('withoutLimit')} (${withoutLimit}) must be one of ${WITHOUT_LIMIT_MODES.join(', ')}`);
  if (withoutLimit === 'fixed' && fixedSize === undefined) fail(`${label('fixedSize')} is required when ${label('withoutLimit')} is 'fixed'`);
  if (withoutLimit !== 'fixed' && fixedSize !== undefined) {
    fail(`${label('fixedSize')} (${input.fixedSize}) is only used when ${label('withoutLimit')} is 'fixed' (it is '${withoutLimit}')`);
  }

  return {
    ratio,
    size: exact,
    minimum,
    maximum,
    volumeName,
    containers: input.containers ? [...input.containers] : undefined,
    includeInitContainers: input.includeInitContainers ?? true,
    selection,
    withoutLimit,
    fixedSize,
    sizeUnboundedShm: input.sizeUnboundedShm ?? false,
    input: chosenSettings(input),
  };
}

/** The settings that were given (copied, lists too), in table order. */
function chosenSettings(input: PolicyInput): PolicyInput {
  const chosen: Record<string, unknown> = {};
  for (const setting of POLICY_SETTINGS) {
    const value = input[setting];
    if (value !== undefined) chosen[setting] = Array.isArray(value) ? [...value] : value;
  }
  return chosen as PolicyInput;
}

/**
 * Parses a share of a memory limit: a decimal in (0, 1].
 * @param label how the message names the setting (`'ratio'`, `--ratio`)
 * @returns the ratio, or an error message naming `label`
 */
export function tryParseRatio(value: unknown, label: string): Rational | string {
  if (typeof value !== 'string' && typeof value !== 'number') return `${label} must be a decimal number, got ${typeof value}`;
  let ratio: Rational;
  try {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error();
    ratio = parseDecimal(String(value));
  } catch {
    return `${label} (${value}) is not a decimal number: write a share like 0.5`;
  }
  if (ratio.num <= 0n || compare(ratio, { num: 1n, den: 1n }) > 0) {
    return `${label} (${formatRational(ratio)}) must be greater than 0 and at most 1`;
  }
  return ratio;
}

/**
 * Parses a positive size in whole bytes (rounded down).
 * @param label how the message names the setting (`'size'`, `--size`)
 * @returns the byte count, or an error message naming `label`
 */
export function tryParseSize(value: unknown, label: string): bigint | string {
  if (typeof value !== 'string' && typeof value !== 'number') return `${label} must be a quantity such as 1Gi, got ${typeof value}`;
  let bytes: bigint;
  try {
    bytes = bytesFloor(value);
  } catch (error) {
    return `${label} (${value}) is invalid: ${(error as QuantityError).message}`;
  }
  if (bytes <= 0n) return `${label} (${value}) must be at least one byte`;
  return bytes;
}
