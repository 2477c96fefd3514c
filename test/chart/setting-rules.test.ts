/**
 * The chart refuses at `helm template` (and so at `helm install`) every value combination the
 * webhook server refuses at start, with the server's message: the test walks the one table both
 * are made from (src/core/setting-rules.ts, and the server's port rule) through the real server
 * (the shipped bundle, started with the flags the values stand for) and the real helm (both
 * deliveries), with values that break each rule and values just inside it.
 */
import * as os from 'os';
import * as path from 'path';
import { freshChart } from './fresh-chart';
import { HELM_POLICY_VALUES, chartHasRule } from '../../scripts/helm-setting-rules';
import { portRuleMessage } from '../../src/contracts/webhook-flags';
import { PolicySetting, SETTING_RULES, SettingRule, kebabName, ruleMessage, ruleSettings } from '../../src/core';
import { REPO, run } from '../programs/cli/tools';

/** Values given as text, as `--set-string policy.x=...` gives them (quantities are strings in the chart). */
type Values = Partial<Record<PolicySetting, string>>;

const DEFAULTS: Values = { podsWithoutLimit: 'skip' };

/** A fixed size needs `podsWithoutLimit: fixed` (a rule of its own): values that break one rule only. */
function alone(values: Values): Values {
  return values.fixedSize !== undefined && values.podsWithoutLimit === undefined ? { ...values, podsWithoutLimit: 'fixed' } : values;
}

/** Values that break the rule, and values just inside it, made from the rule itself. */
function examples(rule: SettingRule): { broken: Values[]; inside: Values[] } {
  switch (rule.kind) {
    case 'at-least': {
      const below = rule.bytes - 1n;
      const mebibytes = rule.bytes % 2n ** 20n === 0n ? rule.bytes / 2n ** 20n : undefined;
      const broken = [`${below}`, ...(mebibytes !== undefined ? [`${mebibytes}M`] : ['0.5'])].map(v => alone({ [rule.setting]: v }));
      // Just inside this rule, and inside the stricter ones about the same setting (a minimum lets a small maximum through).
      const context: Values = Object.fromEntries(SETTING_RULES.flatMap(r => r.kind === 'at-least' && r.setting === rule.setting && r.bytes > rule.bytes && r.unless
        ? [[r.unless, '1']] : []));
      const inside = [alone({ ...context, [rule.setting]: `${rule.bytes}` }), ...(mebibytes !== undefined ? [alone({ [rule.setting]: `${mebibytes}Mi` })] : [])];
      if (rule.unless) inside.push(alone({ [rule.setting]: `${below}`, [rule.unless]: '1' }));
      return { broken, inside };
    }
    case 'excludes':
      return { broken: [alone({ [rule.setting]: '1Gi', [rule.other]: '1Gi' })], inside: [alone({ [rule.setting]: '1Gi' })] };
    case 'not-above':
      return {
        broken: [{ [rule.setting]: '1073741825', [rule.other]: '1Gi' }, { [rule.setting]: '1025Mi', [rule.other]: '1Gi' }],
        inside: [{ [rule.setting]: '1Gi', [rule.other]: '1024Mi' }],
      };
    case 'required-when':
      return { broken: [{ [rule.when]: rule.value }], inside: [{ [rule.when]: rule.value, [rule.setting]: '1Gi' }] };
    case 'only-when':
      return { broken: [{ [rule.setting]: '1Gi' }], inside: [{ [rule.when]: rule.value, [rule.setting]: '1Gi' }] };
  }
}

const chart = freshChart('cdk8s-shm-chart-rules-');
const server = path.join(REPO, 'lib', 'bundle', 'webhook.js');

/** `helm template` with the values; its error, or '' when it renders. */
function chartError(sets: readonly string[], wayIn: 'webhook' | 'policy'): string {
  const result = run(chart.helm, ['template', 'cdk8s-shm', chart.dir, '--namespace', 'cdk8s-shm', '--set', `wayIn=${wayIn}`, ...sets]);
  return result.status === 0 ? '' : result.stderr;
}

/** The server started with the flags; what it says, and whether the flags passed (it then stops at the missing certificate). */
function serverStart(flags: readonly string[]): { flagsAccepted: boolean; stderr: string; status: number | null } {
  const missing = path.join(os.tmpdir(), 'cdk8s-shm-no-such-certificate');
  const port = flags.some(f => f.startsWith('--port=')) ? [] : ['--port=0'];
  const result = run(process.execPath, [server, ...flags, `--tls-cert=${missing}`, `--tls-key=${missing}`, ...port]);
  return { flagsAccepted: result.status === 1 && result.stdout.includes('cannot load the serving certificate'), stderr: result.stderr, status: result.status };
}

const policySets = (values: Values) => Object.entries(values).flatMap(([s, v]) => ['--set-string', `${HELM_POLICY_VALUES[s as PolicySetting]}=${v}`]);
const policyFlags = (values: Values) => Object.entries(values).map(([s, v]) => `--${kebabName(s as PolicySetting)}=${v}`);
const words = (values: Values, label: (s: PolicySetting) => string) => ({
  label,
  value: (s: PolicySetting) => values[s] ?? DEFAULTS[s] ?? '',
});

describe.each(SETTING_RULES.filter(chartHasRule).map(rule => [`${rule.kind} ${JSON.stringify(rule, (_k, v) => typeof v === 'bigint' ? String(v) : v)}`, rule] as const))(
  '%s',
  (_name, rule) => {
    const { broken, inside } = examples(rule);

    test.each(broken.map(v => [JSON.stringify(v), v] as const))('%s: the server refuses it at start, the chart at helm template, with one message', (_v, values) => {
      const start = serverStart(policyFlags(values));
      expect(start.status).toBe(2);
      expect(start.stderr).toContain(`cdk8s-shm webhook: ${ruleMessage(rule, words(values, s => `--${kebabName(s)}`))}`);
      for (const wayIn of ['webhook', 'policy'] as const) {
        expect(chartError(policySets(values), wayIn)).toContain(`Error: execution error at (cdk8s-shm/templates/${wayIn === 'webhook' ? 'webhook' : 'admission-policy'}.yaml`);
        expect(chartError(policySets(values), wayIn)).toContain(`: ${ruleMessage(rule, words(values, s => HELM_POLICY_VALUES[s]!))}\n`);
      }
    });

    test.each(inside.map(v => [JSON.stringify(v), v] as const))('%s: both take it', (_v, values) => {
      expect(serverStart(policyFlags(values))).toMatchObject({ flagsAccepted: true });
      for (const wayIn of ['webhook', 'policy'] as const) expect(chartError(policySets(values), wayIn)).toBe('');
    });
  },
);

test('the rules about settings the chart has no value for cannot be broken through it: helm refuses the value itself', () => {
  const without = SETTING_RULES.filter(rule => !chartHasRule(rule));
  // They are all about the exact size, which the chart does not offer (a cluster-wide exact size is no policy).
  expect(without.length).toBeGreaterThan(0);
  expect(without.filter(rule => !ruleSettings(rule).includes('size'))).toEqual([]);
  expect(HELM_POLICY_VALUES.size).toBeUndefined();
  expect(chartError(['--set-string', 'policy.size=1Gi'], 'webhook')).toContain("additional properties 'size' not allowed");
});

describe('the server\'s port rule', () => {
  test('the same port for metrics and serving: refused by both, with one message', () => {
    const start = serverStart(['--metrics-port=8443', '--port=8443']);
    expect(start.stderr).toContain(portRuleMessage(key => `--${key === 'port' ? 'port' : 'metrics-port'}`, () => '8443'));
    expect(chartError(['--set', 'webhook.port=8443', '--set', 'webhook.metricsPort=8443'], 'webhook'))
      .toContain(portRuleMessage(key => `webhook.${key}`, () => '8443'));
  });

  test('ports of their own: the chart renders', () => {
    expect(chartError(['--set', 'webhook.port=8443', '--set', 'webhook.metricsPort=9443'], 'webhook')).toBe('');
  });
});

test('quantities are compared exactly, at any size', () => {
  const sets = (minimum: string, maximum: string) => ['--set-string', `policy.minimum=${minimum}`, '--set-string', `policy.maximum=${maximum}`];
  // 16Ei is 2^64 bytes: one more is refused, the same is taken.
  expect(chartError(sets('18446744073709551617', '16Ei'), 'webhook')).toContain('policy.minimum (18446744073709551617) must not exceed policy.maximum (16Ei)');
  expect(chartError(sets('18446744073709551616', '16Ei'), 'webhook')).toBe('');
  // Fractions round down to whole bytes, as the server reads them: 0.1Gi is 107374182 bytes.
  expect(chartError(sets('107374182.9', '0.1Gi'), 'webhook')).toBe('');
  expect(chartError(sets('107374183', '0.1Gi'), 'webhook')).toContain('must not exceed');
  expect(chartError(sets('1.5k', '1500'), 'webhook')).toBe('');
});
