/**
 * The pod-level structs the constructs share (src/constructs/pod-spec): resources, tolerations and affinity
 * become Kubernetes' JSON as written, and what the API server would refuse is refused at
 * synthesis with the prop's path.
 */
import { Size } from 'cdk8s';
import { podspec } from '../../../src';
import { renderAffinity } from '../../../src/constructs/pod-spec/affinity';
import { renderResources } from '../../../src/constructs/pod-spec/resources';
import { renderTolerations } from '../../../src/constructs/pod-spec/tolerations';
import { expectValidAgainstSchema } from '../../support/schema';

const SUBJECT = "SharedMemoryWebhook 'webhook'";

/** A Pod carrying `spec`, for the schema. */
function podWith(spec: Record<string, unknown>): unknown {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec } };
}

describe('Cpu', () => {
  test.each([
    [podspec.Cpu.millis(250), '250m'],
    [podspec.Cpu.millis(0), '0m'],
    [podspec.Cpu.units(2), '2'],
    [podspec.Cpu.units(0.5), '0.5'],
    [podspec.Cpu.units(1.001), '1.001'],
  ])('%o is written %s', (cpu, amount) => {
    expect(cpu.amount).toBe(amount);
  });

  test.each([
    ['Cpu.millis(2.5)', () => podspec.Cpu.millis(2.5), 'Cpu.millis(2.5): give a whole, non-negative number of millicores'],
    ['Cpu.millis(-1)', () => podspec.Cpu.millis(-1), 'Cpu.millis(-1)'],
    ['Cpu.millis(NaN)', () => podspec.Cpu.millis(NaN), 'Cpu.millis(NaN)'],
    ['Cpu.units(0.0005)', () => podspec.Cpu.units(0.0005), 'Cpu.units(0.0005): give a non-negative number of cores with at most three decimals'],
    ['Cpu.units(-2)', () => podspec.Cpu.units(-2), 'Cpu.units(-2)'],
    ['Cpu.units(Infinity)', () => podspec.Cpu.units(Infinity), 'Cpu.units(Infinity)'],
  ])('%s is refused', (_label, make, message) => {
    expect(make).toThrow(message);
  });
});

describe('renderResources', () => {
  test('every kind, request and limit, sizes in the units given (never rounded to Mi)', () => {
    const json = renderResources({
      cpu: { request: podspec.Cpu.millis(100), limit: podspec.Cpu.units(1) },
      memory: { request: Size.mebibytes(96), limit: Size.gibibytes(1) },
      ephemeralStorage: { request: Size.kibibytes(1536), limit: Size.gibibytes(2) },
    }, 'resources', SUBJECT);
    expect(json).toEqual({
      requests: { 'cpu': '100m', 'memory': '96Mi', 'ephemeral-storage': '1536Ki' },
      limits: { 'cpu': '1', 'memory': '1Gi', 'ephemeral-storage': '2Gi' },
    });
    expect(renderResources({ memory: { limit: Size.mebibytes(64) } }, 'resources', SUBJECT)).toEqual({ limits: { memory: '64Mi' } });
    expect(renderResources({}, 'resources', SUBJECT)).toEqual({});
  });

  test('a request above its limit, compared in bytes and cores, is refused', () => {
    expect(() => renderResources({ memory: { request: Size.gibibytes(1), limit: Size.mebibytes(1023) } }, 'resources', SUBJECT))
      .toThrow("'resources.memory.request' (1Gi) of SharedMemoryWebhook 'webhook' exceeds its limit (1023Mi): the API server refuses a request above the limit");
    expect(() => renderResources({ cpu: { request: podspec.Cpu.units(1), limit: podspec.Cpu.millis(999) } }, 'resources', SUBJECT))
      .toThrow("'resources.cpu.request' (1) of SharedMemoryWebhook 'webhook' exceeds its limit (999m)");
    // Equal is fine, in any units.
    expect(renderResources({ memory: { request: Size.gibibytes(1), limit: Size.mebibytes(1024) } }, 'resources', SUBJECT).limits).toEqual({ memory: '1Gi' });
  });

  test('what is not a quantity is refused, naming the field', () => {
    expect(() => renderResources({ memory: { limit: Size.mebibytes(NaN) } }, 'resources', SUBJECT))
      .toThrow("'resources.memory.limit' (NaNKi) of SharedMemoryWebhook 'webhook' is not a non-negative quantity: give one such as Size.mebibytes(256)");
    expect(() => renderResources({ cpu: { limit: '2' as any } }, 'resources', SUBJECT))
      .toThrow("'resources.cpu.limit' (not a quantity) of SharedMemoryWebhook 'webhook' is not a non-negative quantity: give one such as Cpu.millis(250) or Cpu.units(1)");
  });
});

describe('renderTolerations', () => {
  const tolerations: podspec.Toleration[] = [
    { key: 'dedicated', operator: podspec.TolerationOperator.EQUAL, value: 'platform', effect: podspec.TaintEffect.NO_SCHEDULE },
    { key: 'gpu.example.com/present', operator: podspec.TolerationOperator.EXISTS },
    { operator: podspec.TolerationOperator.EXISTS },
    { key: 'node.kubernetes.io/unreachable', operator: podspec.TolerationOperator.EXISTS, effect: podspec.TaintEffect.NO_EXECUTE, tolerationSeconds: 30 },
    { key: 'pool', value: 'batch', effect: podspec.TaintEffect.PREFER_NO_SCHEDULE },
  ];

  test('Kubernetes tolerations, only the fields given, valid against the schema', () => {
    const json = renderTolerations(tolerations, 'tolerations', SUBJECT);
    expect(json).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'platform', effect: 'NoSchedule' },
      { key: 'gpu.example.com/present', operator: 'Exists' },
      { operator: 'Exists' },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
      { key: 'pool', value: 'batch', effect: 'PreferNoSchedule' },
    ]);
    expectValidAgainstSchema([podWith({ tolerations: json })]);
  });

  test.each([
    [{ value: 'x' }, "'tolerations[0]' ({\"value\":\"x\"}) of SharedMemoryWebhook 'webhook' has no key: a toleration of every taint needs operator TolerationOperator.EXISTS"],
    [{ key: 'k', operator: 'Gte' }, 'has operator "Gte": use TolerationOperator.EQUAL or EXISTS'],
    [{ key: 'k', effect: 'NoRun' }, 'has effect "NoRun": use TaintEffect.NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE'],
    [{ key: 'k', operator: 'Exists', value: 'v' }, 'has a value with operator EXISTS, which matches any value'],
    [{ key: 'k', tolerationSeconds: 30, effect: 'NoSchedule' }, "sets 'tolerationSeconds' (toleration_seconds in Python), which only means something with effect TaintEffect.NO_EXECUTE"],
    [{ key: 'k', tolerationSeconds: 1.5, effect: 'NoExecute' }, "has 'tolerationSeconds' (toleration_seconds in Python) that is not a whole number of seconds"],
    [{ key: 'bad key' }, "'tolerations[0]' taint key 'bad key' of SharedMemoryWebhook 'webhook' is not a valid label key"],
    [{ key: 'k', value: 'not valid!' }, "'tolerations[0]' taint value 'not valid!' of SharedMemoryWebhook 'webhook' is not a valid label value"],
  ])('%j is refused', (toleration, message) => {
    expect(() => renderTolerations([toleration as podspec.Toleration], 'tolerations', SUBJECT)).toThrow(message);
  });
});

describe('renderAffinity', () => {
  const affinity: podspec.Affinity = {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/arch', operator: podspec.NodeSelectorOperator.IN, values: ['amd64', 'arm64'] }] },
          { matchExpressions: [{ key: 'example.com/cores', operator: podspec.NodeSelectorOperator.GT, values: ['8'] }], matchFields: [{ key: 'metadata.name', operator: podspec.NodeSelectorOperator.NOT_IN, values: ['n1'] }] },
        ],
      },
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 50, preference: { matchExpressions: [{ key: 'example.com/ssd', operator: podspec.NodeSelectorOperator.EXISTS }] } },
      ],
    },
    podAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{
        weight: 100,
        podAffinityTerm: { topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { app: 'api' } }, namespaces: ['shop'] },
      }],
    },
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{
        topologyKey: 'kubernetes.io/hostname',
        labelSelector: { matchExpressions: [{ key: 'app', operator: podspec.LabelSelectorOperator.IN, values: ['webhook'] }] },
        namespaceSelector: { matchExpressions: [{ key: 'team', operator: podspec.LabelSelectorOperator.DOES_NOT_EXIST }] },
        matchLabelKeys: ['pod-template-hash'],
      }],
    },
  };

  test('written as given (it is Kubernetes\' own shape), valid against the schema', () => {
    const json = renderAffinity(affinity, 'affinity', SUBJECT);
    expect(json).toEqual(JSON.parse(JSON.stringify(affinity)));
    expectValidAgainstSchema([podWith({ affinity: json })]);
  });

  test.each([
    [{ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: {} } },
      "'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution' (affinity.node_affinity.required_during_scheduling_ignored_during_execution in Python) ({}) of SharedMemoryWebhook 'webhook' needs 'nodeSelectorTerms' (node_selector_terms in Python)"],
    [{ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } }, "nodeSelectorTerms' (affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms in Python) ([]) of SharedMemoryWebhook 'webhook' is empty"],
    [{ nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, preference: {} }] } },
      "'affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight' (affinity.node_affinity.preferred_during_scheduling_ignored_during_execution[0].weight in Python) (0) of SharedMemoryWebhook 'webhook' must be a whole number from 1 to 100"],
    [{ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'In' }] }] } } },
      "needs 'values' with operator In"],
    [{ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'Exists', values: ['a'] }] }] } } },
      "may not have 'values' with operator Exists"],
    [{ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'Gt', values: ['eight'] }] }] } } },
      "needs exactly one integer in 'values' with operator Gt"],
    [{ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'Like', values: ['a'] }] }] } } },
      "matchExpressions[0].operator' (affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms[0].match_expressions[0].operator in Python) (\"Like\") of SharedMemoryWebhook 'webhook' must be one of In, NotIn, Exists, DoesNotExist, Gt, Lt"],
    [{ podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: {} }] } }, "needs 'topologyKey'"],
    [{ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'h', labelSelector: { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] } }] } },
      'must be one of In, NotIn, Exists, DoesNotExist'],
    [{ podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'h', labelSelector: { matchLabels: { app: 'no good' } } }] } },
      "'affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchLabels' (affinity.pod_affinity.required_during_scheduling_ignored_during_execution[0].label_selector.match_labels in Python) value 'no good' of SharedMemoryWebhook 'webhook' is not a valid label value"],
    [{ nodeAfinity: {} }, "'affinity' ({\"nodeAfinity\":{}}) of SharedMemoryWebhook 'webhook' has an unknown field 'nodeAfinity'"],
  ])('%j is refused', (bad, message) => {
    expect(() => renderAffinity(bad as podspec.Affinity, 'affinity', SUBJECT)).toThrow(message);
  });
});
