/**
 * The tables of the sizing rule (sizing-rule.test.ts), as data: the core tests check each case's
 * size by hand, and the admission policy tests (offline and on a real API server) give the same
 * pods to the MutatingAdmissionPolicy.
 */
import { Json, container, sidecar, template } from './fixtures';
import { PolicyInput } from '../../src/core';

/** [name, pod, policy, size, basis container, warning codes] */
export const BASIS_CASES: Array<[string, Json, PolicyInput, string, string, string[]]> = [
  // the pod has no kubelet limit (the init container has none), but the writer does: 32Gi / 2
  ['PyTorch worker: app 32Gi, a git-clone init container without a limit', template({
    containers: [container('pytorch', '32Gi')],
    initContainers: [container('git-clone')],
  }), {}, '16Gi', 'pytorch', ['unbounded-container']],
  ['DeepSpeed worker: app 64Gi, an ssh-keys init container without a limit', template({
    containers: [container('deepspeed', '64Gi')],
    initContainers: [container('ssh-keys')],
  }), {}, '32Gi', 'deepspeed', ['unbounded-container']],
  ['vLLM: app 48Gi, a metrics sidecar without a limit', template({
    containers: [container('vllm', '48Gi')],
    initContainers: [sidecar('metrics')],
  }), {}, '24Gi', 'vllm', ['unbounded-container']],
  // two writers of 2Gi each: pod limit 4Gi, but each container holds only 2Gi
  ['two containers of 2Gi', template({ containers: [container('web', '2Gi'), container('worker', '2Gi')] }), {}, '1Gi', 'web', []],
  ['a sidecar of 512Mi beside an app of 1Gi', template({ containers: [container('app', '1Gi')], initContainers: [sidecar('proxy', '512Mi')] }), {}, '512Mi', 'app', []],
  ['a sidecar larger than the app sets the basis', template({ containers: [container('app', '1Gi')], initContainers: [sidecar('cache', '4Gi')] }), {}, '2Gi', 'cache', []],
  // the plain init container runs alone, before the app: its 8Gi does not count
  ['an app of 2Gi after a plain init container of 8Gi', template({ containers: [container('app', '2Gi')], initContainers: [container('warmup', '8Gi')] }), {}, '1Gi', 'app', []],
  ['pod-level 6Gi, no container limits', template({ resources: { limits: { memory: '6Gi' } }, containers: [container('a'), container('b')] }), {}, '3Gi', 'a', []],
  // the app counts with the pod-level 4Gi, the sidecar with its own 512Mi
  ['pod-level 4Gi stands in for an app without a limit beside a sidecar of 512Mi', template({
    resources: { limits: { memory: '4Gi' } },
    containers: [container('app')],
    initContainers: [sidecar('proxy', '512Mi')],
  }), {}, '2Gi', 'app', []],
  ['only the named containers set the basis', template({ containers: [container('app', '8Gi'), container('chrome', '2Gi')] }),
    { containers: ['chrome'] }, '1Gi', 'chrome', []],
  ['includeInitContainers false leaves a larger sidecar out of the basis', template({
    containers: [container('app', '1Gi')],
    initContainers: [sidecar('cache', '4Gi')],
  }), { includeInitContainers: false }, '512Mi', 'app', []],
];

const small = (memory: string) => template({ containers: [container('exporter', memory)] });

/** Small pods whose share is below the runtime's 64Mi: [name, pod, policy]. */
export const BELOW_RUNTIME_DEFAULT_CASES: Array<[string, Json, PolicyInput]> = [
  ['node-exporter, 64Mi limit', small('64Mi'), {}],
  ['blackbox-exporter, 120Mi limit', small('120Mi'), {}],
  ['a JupyterHub image puller, 32Mi limit', small('32Mi'), {}],
  ['100Mi', small('100Mi'), {}],
  ['a quarter of 200Mi', small('200Mi'), { ratio: '0.25' }],
];

/** A 100Mi pod that asks for a small size: [name, policy, size]. */
export const ASKED_SMALL_CASES: Array<[string, PolicyInput, string]> = [
  ['size 32Mi', { size: '32Mi' }, '32Mi'],
  ['minimum 16Mi', { minimum: '16Mi' }, '50Mi'],
  ['minimum 80Mi', { minimum: '80Mi' }, '80Mi'],
  ['minimum 16Mi and maximum 40Mi', { minimum: '16Mi', maximum: '40Mi' }, '40Mi'],
];

/** The pod ASKED_SMALL_CASES size. */
export const SMALL_POD = small('100Mi');

const linux = { containers: [container('exporter', '256Mi')] };

/** Windows pod specs, each with the reason the plan gives: [name, spec, why]. */
export const WINDOWS_CASES: Array<[string, Json, string]> = [
  ['spec.os.name', { ...linux, os: { name: 'windows' } }, "'spec.os.name' is windows"],
  ['the node selector', { ...linux, nodeSelector: { 'kubernetes.io/os': 'windows' } }, 'the node selector requires kubernetes.io/os=windows'],
  ['the old node label', { ...linux, nodeSelector: { 'beta.kubernetes.io/os': 'windows' } }, 'the node selector requires beta.kubernetes.io/os=windows'],
  ['required node affinity, every term', {
    ...linux,
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['windows'] }] },
            { matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }, { key: 'kubernetes.io/os', operator: 'In', values: ['windows'] }] },
          ],
        },
      },
    },
  }, 'the required node affinity admits only kubernetes.io/os=windows'],
  ['a pod-level hostProcess', { ...linux, securityContext: { windowsOptions: { hostProcess: true, runAsUserName: 'NT AUTHORITY\\system' } } }, 'the pod runs as a Windows hostProcess'],
  ['a container-level hostProcess', {
    containers: [container('exporter', '256Mi', { securityContext: { windowsOptions: { hostProcess: true } } })],
  }, "container 'exporter' runs as a Windows hostProcess"],
  // kube-prometheus-stack's prometheus-windows-exporter: no spec.os at all
  ['the windows-exporter DaemonSet of kube-prometheus-stack', {
    hostNetwork: true,
    securityContext: { windowsOptions: { hostProcess: true, runAsUserName: 'NT AUTHORITY\\system' } },
    initContainers: [container('configure-firewall', '64Mi', { image: 'mcr.microsoft.com/windows/nanoserver:ltsc2022' })],
    containers: [container('windows-exporter', '256Mi', { image: 'ghcr.io/prometheus-community/windows-exporter:0.29.2' })],
    nodeSelector: { 'kubernetes.io/os': 'windows' },
  }, 'the node selector requires kubernetes.io/os=windows'],
];

/** Specs that look like Windows but are not: [name, spec]. */
export const NOT_WINDOWS_CASES: Array<[string, Json]> = [
  ['linux by selector', { ...linux, nodeSelector: { 'kubernetes.io/os': 'linux' } }],
  ['one affinity term admits linux', {
    ...linux,
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['windows'] }] },
            { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] },
          ],
        },
      },
    },
  }],
  ['an affinity term admitting both', {
    ...linux,
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['windows', 'linux'] }] }] } } },
  }],
  ['preferred (not required) windows affinity', {
    ...linux,
    affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['windows'] }] } }] } },
  }],
  ['hostProcess false', { ...linux, securityContext: { windowsOptions: { hostProcess: false } } }],
];

/** Every pod of the tables, with its policy: what the admission policy tests give the API server too. */
export function sizingTablePods(): Array<{ name: string; pod: Json; input: PolicyInput }> {
  return [
    ...BASIS_CASES.map(([name, pod, input]) => ({ name, pod, input })),
    ...BELOW_RUNTIME_DEFAULT_CASES.map(([name, pod, input]) => ({ name, pod, input })),
    ...ASKED_SMALL_CASES.map(([name, input]) => ({ name: `100Mi, ${name}`, pod: SMALL_POD, input })),
    ...WINDOWS_CASES.map(([name, spec]) => ({ name: `Windows: ${name}`, pod: template(spec), input: {} })),
    ...NOT_WINDOWS_CASES.map(([name, spec]) => ({ name: `not Windows: ${name}`, pod: template(spec), input: {} })),
  ];
}
