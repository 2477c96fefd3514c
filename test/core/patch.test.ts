import { deepClone } from 'fast-json-patch';
import { Json, applyOps, container, mount, podObject, sidecar } from './fixtures';
import {
  JsonPatchOperation, PolicyInput, escapePointerToken, planSharedMemory, planToPatch, podTemplateOf, resolvePolicy,
} from '../../src/core';
import { podRuleViolations } from '../support/pod-rules';
import { expectValidAgainstSchema, validateAgainstSchema } from '../support/schema';

const SIZE_LIMIT = 'cdk8s-shm.io/size-limit';
const LABELS = { app: 'web' };

function workload(apiVersion: string, kind: string, spec: Json): Json {
  return { apiVersion, kind, metadata: { name: kind.toLowerCase(), namespace: 'ml' }, spec };
}

function podTemplate(spec: Json, annotations?: Record<string, string>): Json {
  return { metadata: { labels: LABELS, ...(annotations ? { annotations } : {}) }, spec };
}

const oneApp = (memory = '4Gi'): Json => ({ containers: [container('app', memory)] });

const mixed = (): Json => ({
  containers: [
    container('app', '3Gi', { volumeMounts: [mount('data', '/data'), mount('config', '/etc/app')] }),
    container('worker', '1Gi'),
  ],
  initContainers: [
    container('setup', '512Mi', { volumeMounts: [mount('data', '/data')] }),
    sidecar('proxy', '256Mi'),
    container('migrate', '6Gi'),
  ],
  volumes: [{ name: 'data', emptyDir: {} }, { name: 'config', configMap: { name: 'app-config' } }],
});

/** The same containers as mixed(), with no volumes and no mounts at all. */
const mixedWithoutVolumes = (): Json => ({
  containers: [container('app', '3Gi'), container('worker', '1Gi')],
  initContainers: [container('setup', '512Mi'), sidecar('proxy', '256Mi'), container('migrate', '6Gi')],
});

interface Case {
  readonly name: string;
  readonly object: Json;
  readonly policy?: PolicyInput;
  /** The sizeLimit and annotation expected after the patch. */
  readonly size: string;
  /** The containers (app and init) that must mount the volume at /dev/shm afterwards. */
  readonly targets: readonly string[];
  readonly volumeName?: string;
  readonly action?: 'inject' | 'update';
  /** The annotations that record the explicit choices of the policy (the way in that sizes a pod writes them). */
  readonly choices?: Record<string, string>;
}

const cases: Case[] = [
  {
    name: 'Pod with metadata but no annotations, no volumes, no mounts',
    object: podObject('bare', oneApp()),
    size: '2Gi',
    targets: ['app'],
  },
  {
    name: 'Pod with annotations: null',
    object: podObject('null-annotations', oneApp('1Gi'), { annotations: null }),
    size: '512Mi',
    targets: ['app'],
  },
  {
    name: 'Pod with other annotations and labels',
    object: podObject('annotated', oneApp('6Gi'), { labels: LABELS, annotations: { 'example.com/owner': 'ml-team' } }),
    size: '3Gi',
    targets: ['app'],
  },
  {
    name: 'Pod with volumes: null and volumeMounts: null',
    object: podObject('nulls', { containers: [container('app', '2Gi', { volumeMounts: null })], volumes: null }),
    size: '1Gi',
    targets: ['app'],
  },
  {
    // basis = the largest of app 3Gi, worker 1Gi and sidecar proxy 256Mi (plain init containers
    // run alone, before them) → 1536Mi; the pod limit of 6400Mi only caps
    name: 'Pod with existing volumes, other mounts, init containers and a sidecar',
    object: podObject('mixed', mixed()),
    size: '1536Mi',
    targets: ['app', 'worker', 'setup', 'proxy', 'migrate'],
  },
  {
    name: 'Pod with includeInitContainers false',
    object: podObject('no-init', mixed()),
    policy: { includeInitContainers: false },
    choices: { 'cdk8s-shm.io/include-init-containers': 'false' },
    size: '1536Mi',
    targets: ['app', 'worker'],
  },
  {
    name: 'Pod with named containers and a custom volume name',
    object: podObject('named', mixed()),
    policy: { containers: ['worker', 'proxy'], volumeName: 'shm', size: '1Gi' },
    choices: { 'cdk8s-shm.io/size': '1Gi', 'cdk8s-shm.io/containers': 'worker,proxy', 'cdk8s-shm.io/volume-name': 'shm' },
    size: '1Gi',
    targets: ['worker', 'proxy'],
    volumeName: 'shm',
  },
  {
    name: 'Pod with pod-level resources and overhead',
    object: podObject('pod-level', { resources: { limits: { memory: '8Gi' } }, overhead: { memory: '512Mi' }, containers: [container('app'), container('b')] }),
    size: '4Gi', // the pod-level 8Gi stands in for the containers without a limit; overhead is the runtime's
    targets: ['app', 'b'],
  },
  {
    name: 'Pod without a limit given a fixed size',
    object: podObject('unlimited', { containers: [container('app')] }),
    policy: { podsWithoutLimit: 'fixed', fixedSize: '256Mi' },
    choices: { 'cdk8s-shm.io/pods-without-limit': 'fixed', 'cdk8s-shm.io/fixed-size': '256Mi' },
    size: '256Mi',
    targets: ['app'],
  },
  {
    name: 'Pod injected earlier whose limit grew: resized',
    object: podObject('resized', {
      containers: [container('app', '8Gi', { volumeMounts: [mount('data', '/data'), mount('dshm', '/dev/shm')] })],
      volumes: [{ name: 'data', emptyDir: {} }, { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
    }, { annotations: { [SIZE_LIMIT]: '1Gi' } }),
    size: '4Gi',
    targets: ['app'],
    action: 'update',
  },
  {
    name: 'Pod injected earlier without a sizeLimit, with a new container',
    object: podObject('new-container', {
      containers: [container('app', '2Gi', { volumeMounts: [mount('dshm', '/dev/shm')] }), container('added', '2Gi')],
      volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory' } }],
    }, { annotations: { [SIZE_LIMIT]: '1Gi' } }),
    size: '1Gi',
    targets: ['app', 'added'],
    action: 'update',
  },
  {
    name: 'Deployment',
    object: workload('apps/v1', 'Deployment', { replicas: 2, selector: { matchLabels: LABELS }, template: podTemplate(oneApp()) }),
    size: '2Gi',
    targets: ['app'],
  },
  {
    name: 'Deployment with template annotations and a sidecar',
    object: workload('apps/v1', 'Deployment', {
      selector: { matchLabels: LABELS },
      template: podTemplate({ containers: [container('app', '2Gi')], initContainers: [sidecar('mesh', '512Mi')] }, { 'prometheus.io/scrape': 'true' }),
    }),
    size: '1Gi',
    targets: ['app', 'mesh'],
  },
  {
    name: 'Deployment template injected earlier, with a new container',
    object: workload('apps/v1', 'Deployment', {
      selector: { matchLabels: LABELS },
      template: podTemplate({
        containers: [container('app', '2Gi', { volumeMounts: [mount('dshm', '/dev/shm')] }), container('added', '2Gi')],
        volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '2Gi' } }],
      }, { [SIZE_LIMIT]: '2Gi' }),
    }),
    size: '1Gi',
    targets: ['app', 'added'],
    action: 'update',
  },
  {
    name: 'StatefulSet',
    object: workload('apps/v1', 'StatefulSet', { serviceName: 'db', selector: { matchLabels: LABELS }, template: podTemplate(mixed()) }),
    size: '1536Mi',
    targets: ['app', 'worker', 'setup', 'proxy', 'migrate'],
  },
  {
    name: 'DaemonSet',
    object: workload('apps/v1', 'DaemonSet', { selector: { matchLabels: LABELS }, template: podTemplate(oneApp('512Mi')) }),
    size: '256Mi',
    targets: ['app'],
  },
  {
    name: 'ReplicaSet',
    object: workload('apps/v1', 'ReplicaSet', { selector: { matchLabels: LABELS }, template: podTemplate(oneApp('2Gi')) }),
    size: '1Gi',
    targets: ['app'],
  },
  {
    name: 'ReplicationController',
    object: workload('v1', 'ReplicationController', { selector: LABELS, template: podTemplate(oneApp('2Gi')) }),
    size: '1Gi',
    targets: ['app'],
  },
  {
    name: 'Job whose template has no metadata',
    object: workload('batch/v1', 'Job', { template: { spec: { ...oneApp('10Gi'), restartPolicy: 'Never' } } }),
    size: '5Gi',
    targets: ['app'],
  },
  {
    name: 'CronJob',
    object: workload('batch/v1', 'CronJob', {
      schedule: '0 * * * *',
      jobTemplate: { spec: { template: podTemplate({ ...oneApp('3Gi'), restartPolicy: 'OnFailure' }) } },
    }),
    size: '1536Mi',
    targets: ['app'],
  },
  {
    name: 'CronJob whose template has no metadata, no volumes and init containers',
    object: workload('batch/v1', 'CronJob', {
      schedule: '@daily',
      jobTemplate: { spec: { template: { spec: { ...mixedWithoutVolumes(), restartPolicy: 'Never' } } } },
    }),
    size: '1536Mi',
    targets: ['app', 'worker', 'setup', 'proxy', 'migrate'],
  },
  {
    name: 'PodTemplate',
    object: { apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: 'pt' }, template: podTemplate(oneApp('1Gi')) },
    size: '512Mi',
    targets: ['app'],
  },
];

interface Outcome {
  readonly c: Case;
  readonly path: string;
  readonly ops: JsonPatchOperation[];
  readonly patched: Json;
  readonly original: Json;
}

const outcomes: Outcome[] = cases.map(c => {
  const original = deepClone(c.object);
  const location = podTemplateOf(c.object)!;
  const plan = planSharedMemory(location.template, resolvePolicy(c.policy));
  if (plan.action !== (c.action ?? 'inject')) throw new Error(`${c.name}: planned ${plan.action} (${plan.message})`);
  const ops = planToPatch(plan, location.path);
  return { c, path: location.path, ops, patched: applyOps(c.object, ops), original };
});

describe.each(outcomes.map(o => [o.c.name, o] as [string, Outcome]))('%s', (_name, { c, path, ops, patched, original }) => {
  const volumeName = c.volumeName ?? 'dshm';
  const before = podTemplateOf(original)!.template as Json;
  const after = podTemplateOf(patched)!.template as Json;

  test('the patch is not empty and the input was not mutated', () => {
    expect(ops.length).toBeGreaterThan(0);
    expect(c.object).toEqual(original);
    for (const op of ops) expect(op.path.startsWith(`${path}/`)).toBe(true);
  });

  test('the annotations hold the size and the explicit choices, and other metadata is kept', () => {
    expect(after.metadata.annotations[SIZE_LIMIT]).toBe(c.size);
    expect(after.metadata.annotations).toEqual({ ...(before.metadata?.annotations ?? {}), [SIZE_LIMIT]: c.size, ...c.choices });
    expect(after.metadata.labels).toEqual(before.metadata?.labels);
    expect(patched.metadata).toEqual(path === '' ? after.metadata : original.metadata);
  });

  test('exactly one memory-backed volume of the exact size, other volumes kept', () => {
    const ours = after.spec.volumes.filter((v: Json) => v.name === volumeName);
    expect(ours).toEqual([{ name: volumeName, emptyDir: { medium: 'Memory', sizeLimit: c.size } }]);
    const others = after.spec.volumes.filter((v: Json) => v.name !== volumeName);
    expect(others).toEqual((before.spec.volumes ?? []).filter((v: Json) => v.name !== volumeName));
  });

  test('every targeted container mounts it at /dev/shm once, no other container does, other mounts are kept', () => {
    const all = [...after.spec.containers, ...(after.spec.initContainers ?? [])];
    const previous = [...before.spec.containers, ...(before.spec.initContainers ?? [])];
    all.forEach((ctr: Json, i: number) => {
      const shm = (ctr.volumeMounts ?? []).filter((m: Json) => m.mountPath === '/dev/shm');
      expect(shm).toEqual(c.targets.includes(ctr.name) ? [{ name: volumeName, mountPath: '/dev/shm' }] : []);
      const kept = (previous[i].volumeMounts ?? []).filter((m: Json) => m.mountPath !== '/dev/shm');
      expect((ctr.volumeMounts ?? []).filter((m: Json) => m.mountPath !== '/dev/shm')).toEqual(kept);
    });
    expect(all.filter((ctr: Json) => (ctr.volumeMounts ?? []).some((m: Json) => m.mountPath === '/dev/shm')).map((ctr: Json) => ctr.name).sort())
      .toEqual([...c.targets].sort());
  });

  test('the pod rules the schema cannot express hold', () => {
    expect(podRuleViolations(after.spec)).toEqual([]);
  });

  test('idempotent: planning the patched pod again changes nothing', () => {
    const again = planSharedMemory(after, resolvePolicy(c.policy));
    expect(again.action).toBe('unchanged');
    expect(again.size).toBe(c.size);
    expect(planToPatch(again, path)).toEqual([]);
  });
});

test('every patched object is valid against the Kubernetes schema (one batch)', () => {
  expectValidAgainstSchema(outcomes.map(o => o.patched));
});

test('the schema check is not vacuous: a broken patch result fails it', () => {
  const broken = deepClone(outcomes[0].patched);
  broken.spec.volumes[0].emptyDir.sizeLimit = '2GB';
  delete broken.spec.containers[0].volumeMounts[0].mountPath;
  const [good, bad] = validateAgainstSchema([outcomes[0].patched, broken]);
  expect(good.ok).toBe(true);
  expect(bad.ok).toBe(false);
  expect(bad.error).toMatch(/sizeLimit/);
  expect(bad.error).toMatch(/mountPath/);
});

describe('planToPatch: the exact operations', () => {
  const volume = (size: string) => ({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: size } });
  const shmMount = { name: 'dshm', mountPath: '/dev/shm' };
  const patchFor = (object: Json, policy: PolicyInput = {}) => {
    const location = podTemplateOf(object)!;
    return planToPatch(planSharedMemory(location.template, resolvePolicy(policy)), location.path);
  };

  test('a Pod with metadata but no annotations: parents are created, the key is escaped', () => {
    expect(patchFor(podObject('p', oneApp()))).toEqual([
      { op: 'add', path: '/metadata/annotations', value: { [SIZE_LIMIT]: '2Gi' } },
      { op: 'add', path: '/spec/volumes', value: [volume('2Gi')] },
      { op: 'add', path: '/spec/containers/0/volumeMounts', value: [shmMount] },
    ]);
  });

  test('a Pod with annotations, volumes and mounts: appended with /-', () => {
    expect(patchFor(podObject('p', mixed(), { annotations: { a: 'b' } }), { includeInitContainers: false })).toEqual([
      { op: 'add', path: '/metadata/annotations/cdk8s-shm.io~1size-limit', value: '1536Mi' },
      { op: 'add', path: '/metadata/annotations/cdk8s-shm.io~1include-init-containers', value: 'false' },
      { op: 'add', path: '/spec/volumes/-', value: volume('1536Mi') },
      { op: 'add', path: '/spec/containers/0/volumeMounts/-', value: shmMount },
      { op: 'add', path: '/spec/containers/1/volumeMounts', value: [shmMount] },
    ]);
  });

  test('a template without metadata gets the whole metadata object', () => {
    expect(patchFor({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: oneApp() } } })).toEqual([
      { op: 'add', path: '/spec/template/metadata', value: { annotations: { [SIZE_LIMIT]: '2Gi' } } },
      { op: 'add', path: '/spec/template/spec/volumes', value: [volume('2Gi')] },
      { op: 'add', path: '/spec/template/spec/containers/0/volumeMounts', value: [shmMount] },
    ]);
  });

  test('a CronJob is patched under /spec/jobTemplate/spec/template, init containers included', () => {
    const cronJob = workload('batch/v1', 'CronJob', {
      schedule: '@daily',
      jobTemplate: { spec: { template: podTemplate({ containers: [container('app', '1Gi')], initContainers: [sidecar('proxy', '1Gi')] }, { x: 'y' }) } },
    });
    expect(patchFor(cronJob)).toEqual([
      { op: 'add', path: '/spec/jobTemplate/spec/template/metadata/annotations/cdk8s-shm.io~1size-limit', value: '512Mi' },
      { op: 'add', path: '/spec/jobTemplate/spec/template/spec/volumes', value: [volume('512Mi')] },
      { op: 'add', path: '/spec/jobTemplate/spec/template/spec/containers/0/volumeMounts', value: [shmMount] },
      { op: 'add', path: '/spec/jobTemplate/spec/template/spec/initContainers/0/volumeMounts', value: [shmMount] },
    ]);
  });

  test('an update replaces the annotation and the sizeLimit', () => {
    const pod = podObject('p', {
      containers: [container('app', '4Gi', { volumeMounts: [mount('dshm', '/dev/shm')] })],
      volumes: [{ name: 'data', emptyDir: {} }, volume('1Gi')],
    }, { annotations: { [SIZE_LIMIT]: '1Gi' } });
    expect(patchFor(pod)).toEqual([
      { op: 'replace', path: '/metadata/annotations/cdk8s-shm.io~1size-limit', value: '2Gi' },
      { op: 'replace', path: '/spec/volumes/1/emptyDir/sizeLimit', value: '2Gi' },
    ]);
  });

  test('an update adds a missing sizeLimit', () => {
    const pod = podObject('p', {
      containers: [container('app', '4Gi', { volumeMounts: [mount('dshm', '/dev/shm')] })],
      volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory' } }],
    }, { annotations: { [SIZE_LIMIT]: '2Gi' } });
    expect(patchFor(pod)).toEqual([{ op: 'add', path: '/spec/volumes/0/emptyDir/sizeLimit', value: '2Gi' }]);
  });

  test('a Deployment is patched under /spec/template', () => {
    const deployment = workload('apps/v1', 'Deployment', { selector: { matchLabels: LABELS }, template: podTemplate(oneApp('1Gi')) });
    expect(patchFor(deployment)).toEqual([
      { op: 'add', path: '/spec/template/metadata/annotations', value: { [SIZE_LIMIT]: '512Mi' } },
      { op: 'add', path: '/spec/template/spec/volumes', value: [volume('512Mi')] },
      { op: 'add', path: '/spec/template/spec/containers/0/volumeMounts', value: [shmMount] },
    ]);
  });

  test.each<[string, Json, PolicyInput]>([
    ['skip', podObject('p', { containers: [container('app')] }), {}],
    ['deny', podObject('p', { containers: [container('app')] }), { podsWithoutLimit: 'deny' }],
    ['opted out', podObject('p', oneApp(), { annotations: { 'cdk8s-shm.io/inject': 'false' } }), {}],
    ['invalid', podObject('p', { containers: 'x' }), {}],
  ])('no operations for a %s plan', (_name, object, policy) => {
    expect(patchFor(object, policy)).toEqual([]);
  });
});

describe('escapePointerToken (RFC 6901)', () => {
  test.each<[string, string]>([
    ['cdk8s-shm.io/size-limit', 'cdk8s-shm.io~1size-limit'],
    ['a~b', 'a~0b'],
    ['~/', '~0~1'],
    ['/~1', '~1~01'],
    ['plain', 'plain'],
    ['', ''],
  ])('%j → %j', (token, escaped) => {
    expect(escapePointerToken(token)).toBe(escaped);
  });
});
