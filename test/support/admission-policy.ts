/**
 * The admission policy delivery as the tests drive it: what `SharedMemoryAdmissionPolicy`
 * synthesizes, the core policy it stands for, and a corpus of pods (the CLI fixtures, the examples,
 * the shared AdmissionReview fixtures and the sizing tables) to give both.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { examples } from '../../examples/registry';
import { policyInputOf } from '../../src/constructs/admission-policy/settings';
import { SharedMemoryAdmissionPolicy, SharedMemoryAdmissionPolicyProps } from '../../src/constructs/admission-policy/shared-memory-admission-policy';
import {
  Planner, Policy, PolicyInput, applyOperations, planSharedMemory, planToPatch, podTemplateOf, resolvePolicy, settingAnnotation, settingText,
} from '../../src/core';
import { sizingTablePods } from '../core/sizing-cases';

const REPO = path.join(__dirname, '..', '..');

/** The four objects of `SharedMemoryAdmissionPolicy` with these props, in a chart of their own. */
export function synthAdmissionPolicy(props: SharedMemoryAdmissionPolicyProps = {}): any[] {
  const chart = Testing.chart();
  new SharedMemoryAdmissionPolicy(chart, 'policy', props);
  return Testing.synth(chart);
}

/** The core's policy for the same props (plan with `planForAdmissionPolicy` to plan as the admission policy does). */
export function corePolicyOf(props: SharedMemoryAdmissionPolicyProps = {}): Policy {
  return resolvePolicy(policyInputOf(props));
}

/** What the core makes of a pod under a policy: its plan's patch applied to a copy. */
export function coreResult(pod: any, policy: Policy, planner: Planner = planSharedMemory): any {
  return applyOperations(structuredClone(pod), planToPatch(planner(pod, policy)));
}

/** A pod of the corpus. */
export interface CorpusPod {
  readonly name: string;
  readonly pod: any;
}

/**
 * A pod (metadata and spec) for every workload of the CLI fixtures, the examples and the sizing
 * tables, and the pod of every AdmissionReview fixture. A policy of a sizing-table case becomes
 * the pod's own annotations (every per-pod setting is one), so that one admission policy with
 * default settings decides them all.
 */
export function podCorpus(): CorpusPod[] {
  const pods: CorpusPod[] = [];
  const add = (name: string, object: any) => {
    const location = podTemplateOf(object);
    if (!location || object.kind === 'PodTemplate') return;
    const template = location.template as any;
    pods.push({ name, pod: { metadata: { name: `pod-${pods.length}`, ...template.metadata }, spec: template.spec } });
  };
  const fixtures = path.join(REPO, 'test', 'programs', 'cli', 'fixtures');
  for (const file of fs.readdirSync(fixtures).filter(f => /\.ya?ml$/.test(f)).sort()) {
    if (file === 'broken.yaml') continue;
    const objects = parseAllDocuments(fs.readFileSync(path.join(fixtures, file), 'utf8'), { version: '1.1' }).map(d => d.toJS()).filter(o => o)
      .flatMap((o: any) => o.kind === 'List' ? o.items : [o]);
    objects.forEach((object: any, i: number) => add(`cli fixture ${file} #${i} ${object.kind}/${object.metadata?.name}`, object));
  }
  for (const example of examples()) {
    const chart: Chart = example.build(new App());
    chart.toJson().forEach((object: any) => add(`example ${example.name} ${object.kind}/${object.metadata?.name}`, object));
  }
  const admission = path.join(REPO, 'test', 'fixtures', 'admission');
  for (const file of fs.readdirSync(admission).filter(f => f.endsWith('.json')).sort()) {
    const body = JSON.parse(fs.readFileSync(path.join(admission, file), 'utf8'));
    const object = (body.request ?? body).object;
    if (object?.spec) pods.push({ name: `admission fixture ${file}`, pod: { metadata: { name: `pod-${pods.length}`, ...object.metadata }, spec: object.spec } });
  }
  for (const { name, pod, input } of sizingTablePods()) {
    pods.push({ name: `sizing table: ${name}`, pod: { ...pod, metadata: { name: `pod-${pods.length}`, ...pod.metadata, annotations: { ...pod.metadata?.annotations, ...asAnnotations(input) } } } });
  }
  return pods;
}

/** A policy as the pod annotations that say the same. */
function asAnnotations(input: PolicyInput): Record<string, string> {
  return Object.fromEntries(Object.entries(input)
    .map(([setting, value]) => [settingAnnotation(setting as keyof PolicyInput), settingText(value as never)]));
}

/** One pod at each limit of the admission policy's CEL (admission-policy-limits.ts): the webhook sizes them, the policy leaves them alone. */
export function limitPods(): CorpusPod[] {
  const app = (memory: string, extra: Record<string, unknown> = {}) => ({ name: 'app', image: 'registry.example.com/app:1.0.0', resources: { limits: { memory } }, ...extra });
  const pod = (name: string, container: any, annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}) =>
    ({ name, pod: { metadata: { name, annotations }, spec: { containers: [container], ...spec } } });
  return [
    pod('limit-8pi', app('8Pi')),
    pod('size-1e40', app('2Gi'), { 'cdk8s-shm.io/size': '1e40' }),
    pod('ratio-exponent', app('2Gi'), { 'cdk8s-shm.io/ratio': '5e-1' }),
    pod('ratio-ten-places', app('2Gi'), { 'cdk8s-shm.io/ratio': '0.1234567891' }),
    pod('mount-backstep', app('2Gi', { volumeMounts: [{ name: 'cache', mountPath: '/var/cache/../tmp' }] }), {}, { volumes: [{ name: 'cache', emptyDir: {} }] }),
    pod('containers-bom', app('2Gi'), { 'cdk8s-shm.io/containers': '\ufeffapp' }),
  ];
}
