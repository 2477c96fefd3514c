/**
 * The chart with `wayIn=policy`: the admission policies of SharedMemoryAdmissionPolicy with the
 * same settings, and nothing of the webhook; with the default way in, none of them.
 */
import { Size, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { freshChart } from './fresh-chart';
import { CHART_VALUE_SETS as V } from './value-sets';
import { NamespaceSelection, PodSelection, PodsWithoutLimit, SharedMemoryAdmissionPolicy, SharedMemoryAdmissionPolicyProps } from '../../src';
import { run } from '../programs/cli/tools';

const fresh = freshChart('cdk8s-shm-policy-chart-');

function template(sets: readonly string[]): { status: number | null; objects: any[]; stderr: string } {
  const result = run(fresh.helm, ['template', 'cdk8s-shm', fresh.dir, '--namespace', 'cdk8s-shm', ...sets.flatMap(s => ['--set', s])]);
  const objects = result.status === 0 ? parseAllDocuments(result.stdout).map(d => d.toJS()).filter(o => o) : [];
  return { status: result.status, stderr: result.stderr, objects };
}

function construct(props: SharedMemoryAdmissionPolicyProps): any[] {
  const chart = Testing.chart();
  new SharedMemoryAdmissionPolicy(chart, 'policy', props);
  // With hardenMount the construct warns at synthesis that it needs 1.37+ (values.yaml says it for the chart).
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    return Testing.synth(chart);
  } finally {
    warn.mockRestore();
  }
}

const byKey = (objects: readonly any[]) => Object.fromEntries(objects.map(o => [`${o.kind}/${o.metadata.name}`, o]));

/** The props of the value set policyOptIn. */
const OPT_IN_PROPS: SharedMemoryAdmissionPolicyProps = {
  ratio: 0.25,
  minimum: Size.mebibytes(256),
  maximum: Size.gibibytes(8),
  podSelection: PodSelection.OPT_IN,
  podsWithoutLimit: PodsWithoutLimit.deny(),
  namespaceSelection: NamespaceSelection.OPT_IN,
  excludedNamespaces: ['monitoring'],
  labels: { team: 'platform' },
};

test.each<[string, readonly string[], SharedMemoryAdmissionPolicyProps]>([
  ['defaults', V.policy.sets, {}],
  ['a quarter within bounds, opt-in namespaces and pods, denied pods without a limit, a label', V.policyOptIn.sets, OPT_IN_PROPS],
  ['a fixed size for pods without a limit, unbounded /dev/shm sized', V.policyFixedSize.sets, {
    podsWithoutLimit: PodsWithoutLimit.fixedSize(Size.gibibytes(1)),
    sizeUnboundedShm: true,
  }],
])('wayIn=policy, %s: exactly the objects of SharedMemoryAdmissionPolicy with the same settings', (_name, sets, props) => {
  const { objects, status, stderr } = template(sets);
  expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
  expect(objects.map(o => o.kind).sort()).toEqual([
    ...Array(2).fill('MutatingAdmissionPolicy'), ...Array(2).fill('MutatingAdmissionPolicyBinding'), ...Array(4).fill('ValidatingAdmissionPolicy'),
    ...Array(4).fill('ValidatingAdmissionPolicyBinding'),
  ]);
  expect(byKey(objects)).toEqual(byKey(construct({ name: 'cdk8s-shm', ...props })));
});

/** The policy's switches, each the Helm value and the prop of the same name. */
const SWITCHES = ['resizeVolumes', 'denyUnsafeShrink', 'hardenMount'] as const;
type Switches = Record<typeof SWITCHES[number], boolean>;
/** All eight: each switch off, then on, for each of the others. */
const switchCombinations = SWITCHES.reduce<Switches[]>((all, s) => all.flatMap(c => [{ ...c, [s]: false }, { ...c, [s]: true }]), [{} as Switches]);

describe.each<[string, readonly string[], SharedMemoryAdmissionPolicyProps]>([
  ['other values at their defaults', V.policy.sets, {}],
  ['a quarter within bounds, opt-in namespaces and pods, denied pods without a limit, a label', V.policyOptIn.sets, OPT_IN_PROPS],
])('wayIn=policy with the switches, %s', (_name, sets, props) => {
  test.each(switchCombinations)('%j: exactly the objects of SharedMemoryAdmissionPolicy with the same props', switches => {
    const { objects, status, stderr } = template([...sets, ...SWITCHES.map(s => `policy.${s}=${switches[s]}`)]);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    // A value at its default (false) is a prop not given, as for the webhook's flags: nothing of it is written onto pods.
    const given = Object.fromEntries(Object.entries(switches).filter(([, on]) => on));
    const expected = construct({ name: 'cdk8s-shm', ...props, ...given });
    // Helm writes objects by kind: the keys, not their order.
    expect(Object.keys(byKey(objects)).sort()).toEqual(Object.keys(byKey(expected)).sort());
    expect(objects.some(o => o.metadata.name === 'cdk8s-shm-resize')).toBe(switches.resizeVolumes);
    expect(byKey(objects)).toEqual(byKey(expected));
  });
});

test('the default way in is the webhook, with none of the admission policies', () => {
  const { objects } = template([]);
  expect(objects.some(o => o.kind === 'MutatingAdmissionPolicy')).toBe(false);
  expect(objects.some(o => o.kind === 'MutatingWebhookConfiguration')).toBe(true);
});

test('the policy is named after the release', () => {
  const result = run(fresh.helm, ['template', 'shm', fresh.dir, '--set', 'wayIn=policy']);
  const names = parseAllDocuments(result.stdout).map(d => d.toJS()).filter(o => o).map(o => o.metadata.name);
  expect(names.sort()).toEqual(['shm', 'shm', 'shm-harden', 'shm-harden', 'shm-resize-warnings', 'shm-resize-warnings', 'shm-unsafe-shrink', 'shm-unsafe-shrink',
    'shm-warnings', 'shm-warnings', 'shm-without-limit', 'shm-without-limit']);
});

test.each([
  [['wayIn=mutating'], 'wayIn'],
  [['wayIn=policy', 'policy.ratio=0.1234567891'], 'policy.ratio may have at most 9 decimal places with wayIn policy'],
  [['wayIn=policy', 'policy.podsWithoutLimit=fixed'], "policy.fixedSize is required when policy.podsWithoutLimit is 'fixed'"],
  [['wayIn=policy', 'policy.limitFollows=true'], 'policy.limitFollows needs wayIn webhook: the admission policy never grows limits'],
])('%j is refused: %s', (sets, message) => {
  const { status, stderr } = template(sets);
  expect(status).not.toBe(0);
  expect(stderr).toContain(message);
});

test('helm lint --strict passes with wayIn=policy', () => {
  const result = run(fresh.helm, ['lint', fresh.dir, '--strict', '--set', 'wayIn=policy']);
  expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
});
