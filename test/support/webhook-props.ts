/**
 * Webhook props a platform team sets for its pods, shared by the construct and chart tests (the
 * chart must render exactly what the construct synthesizes with them).
 */
import { Size, Testing } from 'cdk8s';
import { podspec, SharedMemoryWebhook, SharedMemoryWebhookProps } from '../../src';

export const PLACEMENT_PROPS: SharedMemoryWebhookProps = {
  nodeSelector: { 'node-role.example.com/platform': 'true' },
  tolerations: [{ key: 'dedicated', operator: podspec.TolerationOperator.EQUAL, value: 'platform', effect: podspec.TaintEffect.NO_SCHEDULE }],
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: podspec.NodeSelectorOperator.IN, values: ['amd64'] }] }] },
    },
  },
  resources: {
    cpu: { request: podspec.Cpu.millis(100), limit: podspec.Cpu.millis(500) },
    memory: { request: Size.mebibytes(96), limit: Size.mebibytes(384) },
  },
  port: 10250,
  metricsPort: 9443,
  labels: { 'env': 'prod', 'team.example.com/owner': 'platform' },
  podAnnotations: { 'sidecar.istio.io/inject': 'false' },
};

/** The same, as Helm values. */
export const PLACEMENT_VALUES = [
  'webhook:',
  '  port: 10250',
  '  metricsPort: 9443',
  '  nodeSelector: {node-role.example.com/platform: "true"}',
  '  tolerations: [{key: dedicated, operator: Equal, value: platform, effect: NoSchedule}]',
  '  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64]}]}]}}}',
  '  resources: {requests: {cpu: 100m, memory: 96Mi}, limits: {cpu: 500m, memory: 384Mi}}',
  '  labels: {env: prod, team.example.com/owner: platform}',
  '  podAnnotations: {sidecar.istio.io/inject: "false"}',
];

/** What SharedMemoryWebhook synthesizes with these props, in a chart of its own. */
export function synthWebhook(props: SharedMemoryWebhookProps = {}): any[] {
  const chart = Testing.chart();
  new SharedMemoryWebhook(chart, 'webhook', props);
  return Testing.synth(chart);
}
