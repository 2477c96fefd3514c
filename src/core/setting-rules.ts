/**
 * What a policy's settings must satisfy beyond each value's own form, as data: one table that
 * every reader of settings checks. `resolvePolicy` holds the props, flags, environment variables
 * and annotations of every way in to it; the admission policy's CEL and the Helm chart's checks are
 * generated from it, so that the chart refuses at `helm template` what the webhook server would
 * refuse at start, with the same message.
 *
 * Each rule is about settings that were given (`PolicyInput`), reads quantities in whole bytes
 * rounded down, and has one message, written with the caller's names for the settings.
 */
import { RUNTIME_DEFAULT_SHM_BYTES } from './names';
import { PolicySetting } from './settings';

/** The settings that are sizes. */
export type QuantitySetting = 'size' | 'minimum' | 'maximum' | 'fixedSize';

/** A rule of the table. */
export type SettingRule =
  /** A size of at least `bytes`, unless `unless` is given too (it then says what the user accepts). */
  | { readonly kind: 'at-least'; readonly setting: QuantitySetting; readonly bytes: bigint; readonly unless?: QuantitySetting }
  /** `setting` and `other` are not given together. */
  | { readonly kind: 'excludes'; readonly setting: PolicySetting; readonly other: PolicySetting }
  /** When both are given, `setting` is at most `other`. */
  | { readonly kind: 'not-above'; readonly setting: QuantitySetting; readonly other: QuantitySetting }
  /** `setting` is given when `when` is `value`, and only then. */
  | { readonly kind: 'required-when' | 'only-when'; readonly setting: PolicySetting; readonly when: PolicySetting; readonly value: string };

/** What a rule is checked against: what was given, read. */
export interface RuleInput {
  /** Whether the setting was given. */
  given(setting: PolicySetting): boolean;
  /** A given size in bytes, rounded down. */
  bytes(setting: QuantitySetting): bigint;
  /** The setting's value as text: what was given, or its default (`skip` for `podsWithoutLimit`). */
  text(setting: PolicySetting): string;
}

/** How a message names a setting (`'maximum'`, `--maximum`, `policy.maximum`) and quotes its value: as given, or its default. */
export interface RuleWords {
  label(setting: PolicySetting): string;
  value(setting: PolicySetting): string;
}

const ONE_BYTE = 1n;

/** Every rule, in the order they are checked (and their messages given). */
export const SETTING_RULES: readonly SettingRule[] = [
  ...(['size', 'minimum', 'maximum', 'fixedSize'] as const).map(setting => ({ kind: 'at-least' as const, setting, bytes: ONE_BYTE })),
  ...(['ratio', 'minimum', 'maximum'] as const).map(other => ({ kind: 'excludes' as const, setting: 'size' as const, other })),
  { kind: 'not-above', setting: 'minimum', other: 'maximum' },
  // Never worse than the runtime: a maximum below its /dev/shm could only lower a share below what
  // the pod has without us (`64M` written for `64Mi`, most likely). A minimum says a smaller one is meant.
  { kind: 'at-least', setting: 'maximum', bytes: RUNTIME_DEFAULT_SHM_BYTES, unless: 'minimum' },
  { kind: 'required-when', setting: 'fixedSize', when: 'podsWithoutLimit', value: 'fixed' },
  { kind: 'only-when', setting: 'fixedSize', when: 'podsWithoutLimit', value: 'fixed' },
];

/** Whether the settings break the rule. */
export function breaksRule(rule: SettingRule, input: RuleInput): boolean {
  switch (rule.kind) {
    case 'at-least':
      return input.given(rule.setting) && input.bytes(rule.setting) < rule.bytes && !(rule.unless && input.given(rule.unless));
    case 'excludes':
      return input.given(rule.setting) && input.given(rule.other);
    case 'not-above':
      return input.given(rule.setting) && input.given(rule.other) && input.bytes(rule.setting) > input.bytes(rule.other);
    case 'required-when':
      return input.text(rule.when) === rule.value && !input.given(rule.setting);
    case 'only-when':
      return input.text(rule.when) !== rule.value && input.given(rule.setting);
  }
}

/** What is wrong and how to fix it, in the caller's words. */
export function ruleMessage(rule: SettingRule, words: RuleWords): string {
  const { label, value } = words;
  const given = (s: PolicySetting) => `${label(s)} (${value(s)})`;
  switch (rule.kind) {
    case 'at-least':
      if (rule.bytes === ONE_BYTE) return `${given(rule.setting)} must be at least one byte`;
      return `${given(rule.setting)} is below the runtime's own ${formatMebibytes(rule.bytes)} /dev/shm, so it could only give pods less than `
        + `they have without cdk8s-shm: set it to ${formatMebibytes(rule.bytes)} or more${rule.unless ? `, or set ${label(rule.unless)} too to accept less` : ''}`;
    case 'excludes':
      return `${given(rule.setting)} and ${given(rule.other)} cannot both be set: ${label(rule.setting)} is exact, `
        + `${label(rule.other)} shapes a size derived from a memory limit`;
    case 'not-above':
      return `${given(rule.setting)} must not exceed ${given(rule.other)}`;
    case 'required-when':
      return `${label(rule.setting)} is required when ${label(rule.when)} is '${rule.value}'`;
    case 'only-when':
      return `${given(rule.setting)} is only used when ${label(rule.when)} is '${rule.value}' (it is '${value(rule.when)}')`;
  }
}

/** The settings a rule is about, first the one its message leads with. */
export function ruleSettings(rule: SettingRule): readonly PolicySetting[] {
  switch (rule.kind) {
    case 'at-least':
      return rule.unless ? [rule.setting, rule.unless] : [rule.setting];
    case 'excludes':
    case 'not-above':
      return [rule.setting, rule.other];
    case 'required-when':
    case 'only-when':
      return [rule.setting, rule.when];
  }
}

/** The settings one excludes: an exact `size` excludes a share and its bounds, and each of those `size`. */
export function excludedSettings(setting: PolicySetting): readonly PolicySetting[] {
  return SETTING_RULES.flatMap(rule => rule.kind !== 'excludes' ? []
    : rule.setting === setting ? [rule.other] : rule.other === setting ? [rule.setting] : []);
}

function formatMebibytes(bytes: bigint): string {
  return `${bytes / 2n ** 20n}Mi`;
}
