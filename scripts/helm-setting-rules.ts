/**
 * The chart's half of "the chart refuses what the server refuses": the core's rules for settings
 * taken together (src/core/setting-rules.ts) and the server's port rule (src/contracts/webhook-flags.ts),
 * turned into Helm template checks that `fail` at `helm template` and `helm install` with the
 * core's message, the settings named as Helm values. values.schema.json checks each value's own
 * form (helm-chart.ts); the rules compare values, which a JSON schema cannot do.
 *
 * Quantities are compared exactly, as the server compares them: a helper turns a quantity of the
 * chart's grammar (digits, a fraction, a suffix: values.schema.json) into its bytes, rounded down,
 * as a string of decimal digits (multiplying by 1024 digit by digit), so no size overflows and no
 * floating point rounds.
 */
import { portRuleMessage } from '../src/contracts/webhook-flags';
import { PolicySetting, SETTING_RULES, SettingRule, ruleMessage, ruleSettings } from '../src/core';

/** The Helm value of each policy setting the chart has (`size`, `containers`, ... it has not). */
export const HELM_POLICY_VALUES: Partial<Record<PolicySetting, string>> = {
  ratio: 'policy.ratio',
  minimum: 'policy.minimum',
  maximum: 'policy.maximum',
  podSelection: 'policy.podSelection',
  podsWithoutLimit: 'policy.podsWithoutLimit',
  fixedSize: 'policy.fixedSize',
  sizeUnboundedShm: 'policy.sizeUnboundedShm',
};

/** The Helm values of the webhook's ports. */
const HELM_PORT_VALUES = { port: 'webhook.port', metricsPort: 'webhook.metricsPort' };

/** Whether the chart has a value for every setting the rule is about (a rule it has no values for cannot be broken there). */
export function chartHasRule(rule: SettingRule): boolean {
  return ruleSettings(rule).every(s => HELM_POLICY_VALUES[s] !== undefined);
}

/** The template helpers: a quantity's bytes, exactly, and a comparison of two. */
export const QUANTITY_HELPERS = `{{/* The bytes of a quantity (digits, an optional fraction, an optional suffix: values.schema.json), rounded down, as decimal digits. */}}
{{- define "cdk8s-shm.bytes" -}}
{{- $quantity := toString . -}}
{{- $suffix := regexFind "[a-zA-Z]+$" $quantity -}}
{{- $parts := splitList "." (trimSuffix $suffix $quantity) -}}
{{- $fraction := "" -}}
{{- if gt (len $parts) 1 }}{{ $fraction = index $parts 1 }}{{ end -}}
{{- $digits := printf "%s%s" (index $parts 0) $fraction -}}
{{- $binary := dict "Ki" 1 "Mi" 2 "Gi" 3 "Ti" 4 "Pi" 5 "Ei" 6 -}}
{{- $decimal := dict "k" 1 "M" 2 "G" 3 "T" 4 "P" 5 "E" 6 -}}
{{- if hasKey $binary $suffix -}}
{{- range until (int (get $binary $suffix)) }}{{ $digits = include "cdk8s-shm.times1024" $digits }}{{ end -}}
{{- else if hasKey $decimal $suffix -}}
{{- $digits = printf "%s%s" $digits (repeat (int (mul 3 (get $decimal $suffix))) "0") -}}
{{- end -}}
{{- /* Dividing by ten for each digit of the fraction, rounding down, drops them. */ -}}
{{- $digits = trunc (int (sub (len $digits) (len $fraction))) $digits -}}
{{- default "0" (regexReplaceAll "^0+" $digits "") -}}
{{- end -}}

{{/* Decimal digits times 1024. */}}
{{- define "cdk8s-shm.times1024" -}}
{{- $in := . -}}
{{- $out := "" -}}
{{- $carry := 0 -}}
{{- range $i := until (len $in) -}}
{{- $at := int (sub (len $in) (add1 $i)) -}}
{{- $value := add (mul (atoi (substr $at (int (add1 $at)) $in)) 1024) $carry -}}
{{- $out = printf "%d%s" (mod $value 10) $out -}}
{{- $carry = div $value 10 -}}
{{- end -}}
{{- if gt $carry 0 }}{{ $out = printf "%d%s" $carry $out }}{{ end -}}
{{- $out -}}
{{- end -}}

{{/* "true" when the first quantity (list a b) has fewer bytes than the second. */}}
{{- define "cdk8s-shm.bytesLess" -}}
{{- $a := include "cdk8s-shm.bytes" (index . 0) -}}
{{- $b := include "cdk8s-shm.bytes" (index . 1) -}}
{{- if or (lt (len $a) (len $b)) (and (eq (len $a) (len $b)) (lt $a $b)) }}true{{ end -}}
{{- end -}}
`;

/**
 * The templates that refuse every value combination the server would refuse at start:
 * `cdk8s-shm.checkPolicy` (the policy's rules, for both deliveries) and `cdk8s-shm.checkPorts`
 * (the webhook's).
 */
export function settingChecks(): string {
  const rules = SETTING_RULES.filter(chartHasRule).map(rule => check(ruleCondition(rule), ruleMessageTemplate(rule)));
  const port = (key: 'port' | 'metricsPort') => `(int .Values.${HELM_PORT_VALUES[key]})`;
  const ports = check(`and (ne ${port('metricsPort')} 0) (eq ${port('metricsPort')} ${port('port')})`,
    printfOf(portRuleMessage(key => HELM_PORT_VALUES[key], () => sentinel('metricsPort')), { metricsPort: `.Values.${HELM_PORT_VALUES.metricsPort}` }));
  return [
    '{{/* What the webhook server refuses at start, refused here with its message (src/core/setting-rules.ts, src/contracts/webhook-flags.ts). */}}',
    '{{- define "cdk8s-shm.checkPolicy" -}}',
    ...rules,
    '{{- end -}}',
    '',
    '{{- define "cdk8s-shm.checkPorts" -}}',
    ports,
    '{{- end -}}',
    '',
  ].join('\n');
}

function check(condition: string, message: string): string {
  return `{{- if ${condition} }}{{ fail ${message} }}{{ end -}}`;
}

function value(setting: PolicySetting): string {
  return `.Values.${HELM_POLICY_VALUES[setting]}`;
}

function given(setting: PolicySetting): string {
  return `(not (empty ${value(setting)}))`;
}

function less(a: string, b: string): string {
  return `(include "cdk8s-shm.bytesLess" (list ${a} ${b}))`;
}

/** When the values break the rule, as a template condition (breaksRule in the core). */
function ruleCondition(rule: SettingRule): string {
  switch (rule.kind) {
    case 'at-least':
      return `and ${given(rule.setting)} ${less(value(rule.setting), `"${rule.bytes}"`)}${rule.unless ? ` (not ${given(rule.unless)})` : ''}`;
    case 'excludes':
      return `and ${given(rule.setting)} ${given(rule.other)}`;
    case 'not-above':
      return `and ${given(rule.setting)} ${given(rule.other)} ${less(value(rule.other), value(rule.setting))}`;
    case 'required-when':
      return `and (eq (toString ${value(rule.when)}) "${rule.value}") (not ${given(rule.setting)})`;
    case 'only-when':
      return `and (ne (toString ${value(rule.when)}) "${rule.value}") ${given(rule.setting)}`;
  }
}

/** The core's message with the settings named as Helm values, as a `printf` of the values given. */
function ruleMessageTemplate(rule: SettingRule): string {
  const text = ruleMessage(rule, { label: s => HELM_POLICY_VALUES[s]!, value: sentinel });
  const values = Object.fromEntries(ruleSettings(rule).map(s => [s, value(s)]));
  return printfOf(text, values);
}

/** Stands for a value in a message, to be replaced by a `printf` verb. */
function sentinel(key: string): string {
  return `\u0000${key}\u0000`;
}

/** `(printf "...%s..." (toString .Values.x))` for a text with sentinels. */
function printfOf(text: string, values: Record<string, string>): string {
  const args: string[] = [];
  const format = text.replace(/%/g, '%%').replace(/\u0000([a-zA-Z]+)\u0000/g, (_m, key: string) => {
    args.push(`(toString ${values[key]})`);
    return '%s';
  });
  return `(printf ${JSON.stringify(format)}${args.map(a => ` ${a}`).join('')})`;
}
