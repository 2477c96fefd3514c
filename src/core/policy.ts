/**
 * The sizing policy: what the constructs' props, the webhook's flags, the CLI's flags and a pod's
 * annotations all turn into. Validation happens once, here, with messages that quote the setting
 * (by the name its caller knows it by) and the value.
 */
import { Rational, compare, parseDecimal, formatRational } from './decimal';
import { isDns1123Label } from './kube-names';
import { DEFAULT_RATIO, DEFAULT_VOLUME_NAME } from './names';
import { QuantityError, bytesFloor } from './quantity';
import { QuantitySetting, RuleInput, SETTING_RULES, breaksRule, ruleMessage, ruleSettings } from './setting-rules';
import { BOOLEAN_SETTINGS, POLICY_SETTINGS, PolicyInput, PolicySetting, SELECTIONS, Selection, WITHOUT_LIMIT_MODES, WithoutLimit, settingText } from './settings';

/** A validated policy. Sizes are whole bytes. */
export interface Policy {
  readonly ratio: Rational;
  readonly size?: bigint;
  readonly minimum?: bigint;
  readonly maximum?: bigint;
  readonly volumeName: string;
  readonly containers?: readonly string[];
  readonly includeInitContainers: boolean;
  readonly podSelection: Selection;
  readonly podsWithoutLimit: WithoutLimit;
  readonly fixedSize?: bigint;
  readonly sizeUnboundedShm: boolean;
  readonly limitFollows: boolean;
  readonly resizeVolumes: boolean;
  readonly denyUnsafeShrink: boolean;
  readonly hardenMount: boolean;
  /**
   * The settings as given, validated, without the ones left out: what was chosen explicitly.
   * Pod annotations are merged onto it, and the ways in write it onto the pods they size.
   */
  readonly input: PolicyInput;
}

/** A policy setting is invalid. */
export class PolicyError extends Error {
  /**
   * @param settings the settings the message is about, the one it leads with first (a pod's
   *   annotations name them, so that the pod is reported with the annotations at fault)
   */
  constructor(message: string, public readonly settings: readonly PolicySetting[] = []) {
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
  const fail = (message: string, settings: readonly PolicySetting[]): never => {
    throw new PolicyError(`${message}${where}`, settings);
  };

  // Each value on its own: its form and range.
  let ratio = parseDecimal(DEFAULT_RATIO);
  if (input.ratio !== undefined) {
    const result = tryParseRatio(input.ratio, label('ratio'));
    ratio = typeof result === 'string' ? fail(result, ['ratio']) : result;
  }
  const bytes: Partial<Record<QuantitySetting, bigint>> = {};
  for (const setting of ['size', 'minimum', 'maximum', 'fixedSize'] as const) {
    if (input[setting] === undefined) continue;
    const result = tryParseQuantity(input[setting], label(setting));
    bytes[setting] = typeof result === 'string' ? fail(result, [setting]) : result;
  }
  const volumeName = input.volumeName ?? DEFAULT_VOLUME_NAME;
  if (!isDns1123Label(volumeName)) {
    fail(`${label('volumeName')} (${JSON.stringify(volumeName)}) must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters`, ['volumeName']);
  }
  if (input.containers !== undefined) {
    if (!Array.isArray(input.containers) || input.containers.some(name => typeof name !== 'string' || name === '')) {
      fail(`${label('containers')} must be a list of container names, got ${JSON.stringify(input.containers)}`, ['containers']);
    }
    if (input.containers.length === 0) fail(`${label('containers')} is empty: leave it out to mount /dev/shm in every container`, ['containers']);
  }
  for (const setting of BOOLEAN_SETTINGS) {
    if (input[setting] !== undefined && typeof input[setting] !== 'boolean') fail(`${label(setting)} must be true or false, got ${JSON.stringify(input[setting])}`, [setting]);
  }
  const podSelection = input.podSelection ?? 'opt-out';
  if (!SELECTIONS.includes(podSelection)) fail(`${label('podSelection')} (${podSelection}) must be one of ${SELECTIONS.join(', ')}`, ['podSelection']);
  const podsWithoutLimit = input.podsWithoutLimit ?? 'skip';
  if (!WITHOUT_LIMIT_MODES.includes(podsWithoutLimit)) fail(`${label('podsWithoutLimit')} (${podsWithoutLimit}) must be one of ${WITHOUT_LIMIT_MODES.join(', ')}`, ['podsWithoutLimit']);

  // The settings together (setting-rules.ts).
  const text = (setting: PolicySetting) => input[setting] !== undefined ? settingText(input[setting]!) : setting === 'podsWithoutLimit' ? podsWithoutLimit : '';
  const read: RuleInput = { given: setting => input[setting] !== undefined, bytes: setting => bytes[setting] ?? 0n, text };
  for (const rule of SETTING_RULES) {
    if (breaksRule(rule, read)) fail(ruleMessage(rule, { label, value: text }), ruleSettings(rule));
  }

  return {
    ratio,
    size: bytes.size,
    minimum: bytes.minimum,
    maximum: bytes.maximum,
    volumeName,
    containers: input.containers ? [...input.containers] : undefined,
    includeInitContainers: input.includeInitContainers ?? true,
    podSelection,
    podsWithoutLimit,
    fixedSize: bytes.fixedSize,
    sizeUnboundedShm: input.sizeUnboundedShm ?? false,
    limitFollows: input.limitFollows ?? false,
    resizeVolumes: input.resizeVolumes ?? false,
    denyUnsafeShrink: input.denyUnsafeShrink ?? false,
    hardenMount: input.hardenMount ?? false,
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
  const bytes = tryParseQuantity(value, label);
  if (typeof bytes === 'bigint' && bytes < 1n) return `${label} (${value}) must be at least one byte`;
  return bytes;
}

/**
 * Parses a size in whole bytes (rounded down); its range is the rules' (setting-rules.ts).
 * @param label how the message names the setting (`'size'`, `--size`)
 * @returns the byte count, or an error message naming `label`
 */
function tryParseQuantity(value: unknown, label: string): bigint | string {
  if (typeof value !== 'string' && typeof value !== 'number') return `${label} must be a quantity such as 1Gi, got ${typeof value}`;
  try {
    return bytesFloor(value);
  } catch (error) {
    return `${label} (${value}) is invalid: ${(error as QuantityError).message}`;
  }
}
