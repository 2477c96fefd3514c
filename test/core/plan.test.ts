import { Gi, Json, Ki, Mi, applyOps, at, container, mount, sidecar, template, withValue } from './fixtures';
import {
  PlanEdits, PolicyInput, ShmPlan, SizeSource, SkipReason, planSharedMemory, planToPatch, resolvePolicy,
} from '../../src/core';

const INJECT = 'cdk8s-shm.io/inject';
const SIZE = 'cdk8s-shm.io/size';
const RATIO = 'cdk8s-shm.io/ratio';
const SIZE_LIMIT = 'cdk8s-shm.io/size-limit';

function plan(pod: Json, input: PolicyInput = {}): ShmPlan {
  return planSharedMemory(pod, resolvePolicy(input));
}

function codes(result: ShmPlan): string[] {
  return result.warnings.map(w => w.code);
}

/** One app container with a memory limit. */
function simple(memory = '4Gi', annotations?: Record<string, unknown>): Json {
  return template({ containers: [container('app', memory)] }, annotations);
}

describe('planSharedMemory: sizes', () => {
  // [name, pod, policy, sizeBytes, size, sizeSource, requestedBytes, warning codes]
  const cases: Array<[string, Json, PolicyInput, bigint, string, SizeSource, bigint, string[]]> = [
    ['default is 50% of the limit', simple('4Gi'), {}, 2n * Gi, '2Gi', 'ratio', 2n * Gi, []],
    ['50% of 3Gi', simple('3Gi'), {}, 1536n * Mi, '1536Mi', 'ratio', 1536n * Mi, []],
    // 1Gi × 0.33 = 354334801.92 bytes → 337.9Mi → 337Mi
    ['a ratio-derived size is rounded down to whole MiB', simple('1Gi'), { ratio: '0.33' }, 337n * Mi, '337Mi', 'ratio', 337n * Mi, []],
    // 1G / 2 = 500000000 bytes = 476.8Mi → 476Mi
    ['a decimal limit', simple('1G'), {}, 476n * Mi, '476Mi', 'ratio', 476n * Mi, []],
    ['an exact share', simple('1000Mi'), { ratio: 0.3 }, 300n * Mi, '300Mi', 'ratio', 300n * Mi, []],
    // 1.5Gi × 0.1 = 161061273.6 bytes = 153.6Mi → 153Mi
    ['a small ratio', simple('1.5Gi'), { ratio: '0.1' }, 153n * Mi, '153Mi', 'ratio', 153n * Mi, []],
    // 966367642 bytes (the limit rounds up) / 2 = 483183821 = 460.8Mi → 460Mi
    ['a milli-byte limit', simple('966367641600m'), {}, 460n * Mi, '460Mi', 'ratio', 460n * Mi, []],
    // (2^63-1)/2 rounded down to MiB is 2^62 - 2^20 = (2^42-1) Mi
    ['the largest limit', simple('8Ei'), {}, 4611686018426339328n, '4398046511103Mi', 'ratio', 4611686018426339328n, []],
    ['below one MiB nothing is rounded', simple('1Mi'), { minimum: '1Ki' }, 512n * Ki, '512Ki', 'ratio', 512n * Ki, ['below-runtime-default']],
    ['a minimum lets a share below the runtime default through', simple('100Mi'), { minimum: '32Mi' }, 50n * Mi, '50Mi', 'ratio', 50n * Mi, ['below-runtime-default']],
    ['a minimum raises a share below the runtime default', simple('100Mi'), { minimum: '60Mi' }, 60n * Mi, '60Mi', 'minimum', 60n * Mi, ['below-runtime-default']],
    ['a maximum below the runtime default, with a minimum, is what the user asked', simple('1Gi'), { minimum: '16Mi', maximum: '32Mi' }, 32n * Mi, '32Mi', 'maximum', 32n * Mi, ['below-runtime-default']],
    ['exactly the runtime default', simple('128Mi'), {}, 64n * Mi, '64Mi', 'ratio', 64n * Mi, []],
    ['minimum raises a small share', simple('1Gi'), { minimum: '768Mi' }, 768n * Mi, '768Mi', 'minimum', 768n * Mi, []],
    ['minimum below the share does nothing', simple('4Gi'), { minimum: '1Gi' }, 2n * Gi, '2Gi', 'ratio', 2n * Gi, []],
    ['maximum lowers a large share', simple('8Gi'), { maximum: '1Gi' }, Gi, '1Gi', 'maximum', Gi, []],
    ['maximum above the share does nothing', simple('1Gi'), { maximum: '1Gi' }, 512n * Mi, '512Mi', 'ratio', 512n * Mi, []],
    ['minimum above the limit is capped at the limit', simple('512Mi'), { minimum: '1Gi' }, 512n * Mi, '512Mi', 'minimum', Gi, ['capped-at-limit', 'equals-basis']],
    ['an explicit size', simple('4Gi'), { size: '1Gi' }, Gi, '1Gi', 'size', Gi, []],
    ['an explicit size is capped at the limit', simple('4Gi'), { size: '8Gi' }, 4n * Gi, '4Gi', 'size', 8n * Gi, ['capped-at-limit', 'equals-basis']],
    ['one byte over the limit is capped', simple('1Gi'), { size: '1073741825' }, Gi, '1Gi', 'size', Gi + 1n, ['capped-at-limit', 'equals-basis']],
    ['an explicit size equal to the limit', simple('4Gi'), { size: '4Gi' }, 4n * Gi, '4Gi', 'size', 4n * Gi, ['equals-basis']],
    ['an explicit size below the runtime default is taken as asked', simple('4Gi'), { size: '32Mi' }, 32n * Mi, '32Mi', 'size', 32n * Mi, ['below-runtime-default']],
    ['ratio 1', simple('4Gi'), { ratio: 1 }, 4n * Gi, '4Gi', 'ratio', 4n * Gi, ['equals-basis']],
    ['a size annotation overrides the policy size', simple('4Gi', { [SIZE]: '3Gi' }), { size: '1Gi' }, 3n * Gi, '3Gi', 'size-annotation', 3n * Gi, []],
    ['a size annotation overrides the ratio', simple('4Gi', { [SIZE]: '1536Mi' }), {}, 1536n * Mi, '1536Mi', 'size-annotation', 1536n * Mi, []],
    ['a size annotation is capped at the limit', simple('4Gi', { [SIZE]: '6Gi' }), {}, 4n * Gi, '4Gi', 'size-annotation', 6n * Gi, ['capped-at-limit', 'equals-basis']],
    ['a ratio annotation', simple('4Gi', { [RATIO]: '0.25' }), {}, Gi, '1Gi', 'ratio-annotation', Gi, []],
    ['a ratio annotation overrides the policy size', simple('4Gi', { [RATIO]: '0.75' }), { size: '1Gi' }, 3n * Gi, '3Gi', 'ratio-annotation', 3n * Gi, []],
    ['a ratio annotation is still bounded', simple('4Gi', { [RATIO]: '1' }), { maximum: '1Gi' }, Gi, '1Gi', 'maximum', Gi, []],
    // the container has no limit of its own, so the pod-level 2Gi stands in; overhead is the runtime's, not the container's
    ['pod-level limit plus overhead', template({
      resources: { limits: { memory: '2Gi' } },
      overhead: { memory: '256Mi' },
      containers: [container('app')],
    }), {}, Gi, '1Gi', 'ratio', Gi, []],
    // the basis is the largest of app 1Gi and sidecar 256Mi; the plain init container's 2Gi runs alone before them
    ['sidecars count, plain init containers do not', template({
      containers: [container('app', '1Gi')],
      initContainers: [sidecar('proxy', '256Mi'), container('migrate', '2Gi')],
    }), {}, 512n * Mi, '512Mi', 'ratio', 512n * Mi, []],
    ['no limit, explicit size', template({ containers: [container('app')] }), { size: '1Gi' }, Gi, '1Gi', 'size', Gi, ['no-memory-limit']],
    ['no limit, size annotation', template({ containers: [container('app')] }, { [SIZE]: '2Gi' }), {}, 2n * Gi, '2Gi', 'size-annotation', 2n * Gi, ['no-memory-limit']],
    ['no limit, fixed size', template({ containers: [container('app')] }), { podsWithoutLimit: 'fixed', fixedSize: '256Mi' }, 256n * Mi, '256Mi', 'fixed-size', 256n * Mi, ['no-memory-limit']],
    ['no limit, small fixed size', template({ containers: [container('app')] }), { podsWithoutLimit: 'fixed', fixedSize: '32Mi' }, 32n * Mi, '32Mi', 'fixed-size', 32n * Mi, ['no-memory-limit', 'below-runtime-default']],
  ];
  test.each(cases)('%s', (_name, pod, input, sizeBytes, size, sizeSource, requestedBytes, warnings) => {
    const result = plan(pod, input);
    expect(result.action).toBe('inject');
    expect(result.reason).toBeUndefined();
    expect(result.sizeBytes).toBe(sizeBytes);
    expect(result.size).toBe(size);
    expect(result.sizeSource).toBe(sizeSource);
    expect(result.requestedBytes).toBe(requestedBytes);
    expect(codes(result)).toEqual(warnings);
    expect(result.message).toContain(`mounted /dev/shm ${size}`);
  });

  test('the capped-at-limit warning names the limit and what was asked', () => {
    const result = plan(simple('4Gi'), { size: '8Gi' });
    expect(result.warnings).toEqual([
      { code: 'capped-at-limit', message: '/dev/shm capped at the pod memory limit 4Gi (asked 8Gi)' },
      { code: 'equals-basis', message: "/dev/shm 4Gi equals the 4Gi limit of container 'app': shm alone can OOM it", container: 'app' },
    ]);
  });

  test('a size above the basis is warned about, naming the container it is charged to', () => {
    // two 2Gi containers: the pod limit (4Gi) caps nothing, but each writer holds only 2Gi
    const result = plan(template({ containers: [container('web', '2Gi'), container('worker', '2Gi')] }), { size: '3Gi' });
    expect(result.size).toBe('3Gi');
    expect(result.warnings).toEqual([
      { code: 'exceeds-basis', message: "/dev/shm 3Gi exceeds the 2Gi limit of container 'web': shm alone can OOM it", container: 'web' },
    ]);
  });

  test('targets without a limit are warned about one by one, naming their kind', () => {
    const result = plan(template({
      containers: [container('app'), container('db', '2Gi')],
      initContainers: [sidecar('proxy'), container('clone')],
    }));
    expect(result).toMatchObject({ action: 'inject', size: '1Gi', basis: { bytes: 2n * Gi, container: 'db', role: 'container', fromPodLevel: false } });
    expect(result.warnings).toEqual([
      { code: 'unbounded-container', message: "container 'app' has no memory limit; the /dev/shm pages it writes are not bounded", container: 'app' },
      { code: 'unbounded-container', message: "sidecar 'proxy' has no memory limit; the /dev/shm pages it writes are not bounded", container: 'proxy' },
      { code: 'unbounded-container', message: "init container 'clone' has no memory limit; the /dev/shm pages it writes are not bounded", container: 'clone' },
    ]);
  });

  test('the no-memory-limit warning names the containers and their kind', () => {
    const result = plan(template({ containers: [container('app'), container('db')], initContainers: [sidecar('proxy'), container('setup', '1Gi')] }), { size: '1Gi' });
    expect(result.warnings).toEqual([{
      code: 'no-memory-limit',
      message: "containers 'app', 'db' and sidecar 'proxy' have no memory limit; /dev/shm pages are charged to no bound",
    }]);
    expect(result.limit).toEqual({ kind: 'unlimited', containersWithoutLimit: ['app', 'db', 'proxy'] });
    expect(result.basis).toBeUndefined();
  });

  test('the plan carries the pod limit it was sized from', () => {
    expect(plan(simple('4Gi')).limit).toEqual({ kind: 'limited', bytes: 4n * Gi, source: 'containers', overheadBytes: 0n });
  });
});

describe('planSharedMemory: a fresh injection', () => {
  test('a pod without metadata, volumes or mounts', () => {
    const result = plan(simple('4Gi'));
    expect(result).toMatchObject({ action: 'inject', volumeName: 'dshm', targets: ['app'], size: '2Gi' });
    expect(result.edits).toEqual<PlanEdits>({
      createMetadata: true,
      createAnnotations: true,
      volume: 'add',
      createVolumes: true,
      volumeIndex: -1,
      sizeLimitMissing: true,
      mounts: [{ field: 'containers', index: 0, name: 'app', createList: true }],
      mountOptions: [],
      hardenMounts: [],
      annotations: [{ key: SIZE_LIMIT, value: '2Gi', exists: false }],
      resources: [],
    });
    expect(result.message).toBe("mounted /dev/shm 2Gi (container 'app' limit 4Gi, pod limit 4Gi)");
  });

  test('a pod with annotations, volumes and other mounts', () => {
    const pod = template({
      containers: [container('app', '4Gi', { volumeMounts: [mount('data', '/data')] }), container('worker', '2Gi', { volumeMounts: null })],
      volumes: [{ name: 'data', emptyDir: {} }],
    }, { team: 'ml' });
    const result = plan(pod, { volumeName: 'shm' });
    // app 4Gi and worker 2Gi: half of the larger writer's limit, not of the 6Gi pod limit
    expect(result).toMatchObject({ action: 'inject', volumeName: 'shm', targets: ['app', 'worker'], size: '2Gi' });
    expect(result.edits).toEqual<PlanEdits>({
      createMetadata: false,
      createAnnotations: false,
      volume: 'add',
      createVolumes: false,
      volumeIndex: -1,
      sizeLimitMissing: true,
      mounts: [
        { field: 'containers', index: 0, name: 'app', createList: false },
        { field: 'containers', index: 1, name: 'worker', createList: true },
      ],
      mountOptions: [],
      hardenMounts: [],
      annotations: [{ key: SIZE_LIMIT, value: '2Gi', exists: false }, { key: 'cdk8s-shm.io/volume-name', value: 'shm', exists: false }],
      resources: [],
    });
  });

  test('a size-limit annotation without our volume is replaced, not added', () => {
    const result = plan(simple('4Gi', { [SIZE_LIMIT]: '1Gi' }));
    expect(result.action).toBe('inject');
    expect(result.edits).toMatchObject({ volume: 'add', annotations: [{ key: SIZE_LIMIT, value: '2Gi', exists: true }], createAnnotations: false });
  });

  test('metadata without annotations', () => {
    const result = plan({ metadata: { labels: { app: 'x' } }, spec: simple().spec });
    expect(result.edits).toMatchObject({ createMetadata: false, createAnnotations: true });
  });

  test.each<[string, unknown]>([['null', null], ['an array', []], ['a string', 'x']])('annotations that are %s are recreated', (_name, annotations) => {
    const result = plan({ metadata: { annotations }, spec: simple().spec });
    expect(result.action).toBe('inject');
    expect(result.edits).toMatchObject({ createMetadata: false, createAnnotations: true });
  });

  test('null metadata is recreated', () => {
    expect(plan({ metadata: null, spec: simple().spec }).edits).toMatchObject({ createMetadata: true, createAnnotations: true });
  });
});

describe('planSharedMemory: which containers get the mount', () => {
  const pod = template({
    containers: [container('app', '1Gi'), container('worker', '1Gi')],
    initContainers: [container('setup', '1Gi'), sidecar('proxy', '1Gi')],
  });
  const cases: Array<[string, PolicyInput, string[], Array<['containers' | 'initContainers', number]>, string[]]> = [
    ['all of them by default, sidecars and init containers too', {}, ['app', 'worker', 'setup', 'proxy'],
      [['containers', 0], ['containers', 1], ['initContainers', 0], ['initContainers', 1]], []],
    ['includeInitContainers false leaves init containers and sidecars out', { includeInitContainers: false }, ['app', 'worker'],
      [['containers', 0], ['containers', 1]], []],
    ['containers selects by name', { containers: ['proxy'] }, ['proxy'], [['initContainers', 1]], []],
    ['containers names win over includeInitContainers', { containers: ['setup', 'worker'], includeInitContainers: false }, ['worker', 'setup'],
      [['containers', 1], ['initContainers', 0]], []],
    ['unknown names are warned about', { containers: ['app', 'ghost'] }, ['app'], [['containers', 0]], ['unknown-container']],
  ];
  test.each(cases)('%s', (_name, input, targets, mounts, warnings) => {
    const result = plan(pod, input);
    expect(result.action).toBe('inject');
    expect(result.targets).toEqual(targets);
    expect(result.edits!.mounts.map(m => [m.field, m.index])).toEqual(mounts);
    expect(result.edits!.mounts.map(m => m.name)).toEqual(targets);
    expect(codes(result)).toEqual(warnings);
  });

  test('the unknown-container warning names the container', () => {
    expect(plan(pod, { containers: ['app', 'ghost'] }).warnings).toEqual([
      { code: 'unknown-container', message: "container 'ghost' named in the policy is not in the pod", container: 'ghost' },
    ]);
  });

  test('no named container in the pod: skip', () => {
    const result = plan(pod, { containers: ['ghost', 'spook'] });
    expect(result).toMatchObject({ action: 'skip', reason: 'no-target-containers', targets: [] });
    expect(codes(result)).toEqual(['unknown-container', 'unknown-container']);
    expect(result.edits).toBeUndefined();
  });

  test('a container that already mounts our volume at /dev/shm needs no edit', () => {
    const result = plan(template({
      containers: [container('app', '1Gi', { volumeMounts: [mount('dshm', '/dev/shm')] }), container('worker', '1Gi')],
      volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
    }, { [SIZE_LIMIT]: '1Gi' }));
    expect(result.action).toBe('update');
    expect(result.targets).toEqual(['app', 'worker']);
    expect(result.edits!.mounts).toEqual([{ field: 'containers', index: 1, name: 'worker', createList: true }]);
  });
});

describe('planSharedMemory: skips and denials', () => {
  const limited = { containers: [container('app', '4Gi')] };
  const cases: Array<[string, Json, PolicyInput, 'skip' | 'deny', SkipReason, string]> = [
    ['inject "false" opts out', template(limited, { [INJECT]: 'false' }), {}, 'skip', 'opted-out', 'the pod opted out with cdk8s-shm.io/inject: "false"'],
    ['opt-out beats everything else', template({ ...limited, hostIPC: true }, { [INJECT]: 'false' }), {}, 'skip', 'opted-out', 'opted out'],
    ['opt-in needs "true"', template(limited), { podSelection: 'opt-in' }, 'skip', 'not-opted-in', 'injection is opt-in and the pod lacks cdk8s-shm.io/inject: "true"'],
    ['opt-in and "false"', template(limited, { [INJECT]: 'false' }), { podSelection: 'opt-in' }, 'skip', 'opted-out', 'opted out'],
    ['inject "yes"', template(limited, { [INJECT]: 'yes' }), {}, 'skip', 'invalid-annotation', 'annotation cdk8s-shm.io/inject is "yes"; use "true" or "false"'],
    ['inject "False"', template(limited, { [INJECT]: 'False' }), {}, 'skip', 'invalid-annotation', 'is "False"'],
    ['inject ""', template(limited, { [INJECT]: '' }), {}, 'skip', 'invalid-annotation', 'is ""'],
    ['inject true (not a string)', template(limited, { [INJECT]: true }), {}, 'skip', 'invalid-annotation', 'is true;'],
    ['inject null', template(limited, { [INJECT]: null }), {}, 'skip', 'invalid-annotation', 'is null;'],
    ['size and ratio annotations together', template(limited, { [SIZE]: '1Gi', [RATIO]: '0.5' }), {}, 'skip', 'invalid-annotation',
      "'cdk8s-shm.io/size' (1Gi) and 'cdk8s-shm.io/ratio' (0.5) cannot both be set"],
    ['a bad size annotation', template(limited, { [SIZE]: 'lots' }), {}, 'skip', 'invalid-annotation', "'cdk8s-shm.io/size' (lots) is invalid: \"lots\" is not a valid quantity"],
    ['a zero size annotation', template(limited, { [SIZE]: '0' }), {}, 'skip', 'invalid-annotation', "'cdk8s-shm.io/size' (0) must be at least one byte"],
    ['a size annotation that is not a string', template(limited, { [SIZE]: {} }), {}, 'skip', 'invalid-annotation', "'cdk8s-shm.io/size' must be a quantity such as 1Gi, got object"],
    ['a ratio annotation above 1', template(limited, { [RATIO]: '1.5' }), {}, 'skip', 'invalid-annotation', "'cdk8s-shm.io/ratio' (1.5) must be greater than 0 and at most 1"],
    ['a zero ratio annotation', template(limited, { [RATIO]: '0' }), {}, 'skip', 'invalid-annotation', "'cdk8s-shm.io/ratio' (0) must be greater than 0 and at most 1"],
    ['a ratio annotation that is not a number', template(limited, { [RATIO]: '50%' }), {}, 'skip', 'invalid-annotation', "'cdk8s-shm.io/ratio' (50%) is not a decimal number"],
    ['Windows', template({ ...limited, os: { name: 'windows' } }), {}, 'skip', 'windows', 'Windows pods have no /dev/shm'],
    ['hostIPC', template({ ...limited, hostIPC: true }), {}, 'skip', 'host-ipc', "the pod uses hostIPC, so /dev/shm is the node's own"],
    ['a user mount at /dev/shm', template({
      containers: [container('app', '4Gi', { volumeMounts: [mount('cache', '/dev/shm')] })],
      volumes: [{ name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
    }), {}, 'skip', 'user-shm-mount', "container 'app' already mounts volume 'cache' at /dev/shm"],
    ['a user mount at /dev/shm without a sizeLimit', template({
      containers: [container('app', '4Gi', { volumeMounts: [mount('cache', '/dev/shm')] })],
      volumes: [{ name: 'cache', emptyDir: { medium: 'Memory' } }],
    }), {}, 'skip', 'user-shm-unbounded', "container 'app' already mounts volume 'cache' at /dev/shm, a memory-backed emptyDir without sizeLimit"],
    ['a user mount at /dev/shm/', template({
      containers: [container('app', '4Gi'), container('b', '1Gi', { volumeMounts: [mount('host', '/dev/shm/')] })],
      volumes: [{ name: 'host', hostPath: { path: '/dev/shm' } }],
    }), {}, 'skip', 'user-shm-mount', "container 'b' already mounts volume 'host' at /dev/shm"],
    ['a user mount at //dev//shm', template({
      containers: [container('app', '4Gi', { volumeMounts: [mount('cache', '//dev//shm')] })],
      volumes: [{ name: 'cache', emptyDir: {} }],
    }), {}, 'skip', 'user-shm-mount', "container 'app' already mounts volume 'cache'"],
    ['a user mount in an init container', template({
      containers: [container('app', '4Gi')],
      initContainers: [container('init', '1Gi', { volumeMounts: [mount('cache', '/dev/shm')] })],
      volumes: [{ name: 'cache', emptyDir: {} }],
    }), {}, 'skip', 'user-shm-mount', "container 'init' already mounts volume 'cache'"],
    ['a user-made dshm at /dev/shm (not ours: no size-limit annotation)', template({
      containers: [container('app', '4Gi', { volumeMounts: [mount('dshm', '/dev/shm')] })],
      volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
    }), {}, 'skip', 'user-shm-mount', "container 'app' already mounts volume 'dshm' at /dev/shm"],
    ['a user mount at /dev/shm beside our own volume', template({
      containers: [
        container('app', '4Gi', { volumeMounts: [mount('dshm', '/dev/shm')] }),
        container('b', '1Gi', { volumeMounts: [mount('cache', '/dev/shm')] }),
      ],
      volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '2Gi' } }, { name: 'cache', emptyDir: {} }],
    }, { [SIZE_LIMIT]: '2Gi' }), {}, 'skip', 'user-shm-mount', "container 'b' mounts volume 'cache' at /dev/shm"],
    ['our volume name is taken by a configMap', template({
      ...limited,
      volumes: [{ name: 'dshm', configMap: { name: 'x' } }],
    }), {}, 'skip', 'volume-name-taken', "the pod already has a volume named 'dshm' that is not a memory-backed /dev/shm"],
    ['our volume name is taken by an unmounted memory emptyDir without our annotation', template({
      ...limited,
      volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory' } }],
    }), {}, 'skip', 'volume-name-taken', "volume named 'dshm'"],
    ['a disk emptyDir with our annotation is not ours', template({
      ...limited,
      volumes: [{ name: 'dshm', emptyDir: {} }],
    }, { [SIZE_LIMIT]: '2Gi' }), {}, 'skip', 'volume-name-taken', "volume named 'dshm'"],
    ['a custom volume name is checked too', template({
      ...limited,
      volumes: [{ name: 'shm', secret: { secretName: 's' } }],
    }), { volumeName: 'shm' }, 'skip', 'volume-name-taken', "volume named 'shm'"],
    ['no memory limit', template({ containers: [container('app'), container('b')], initContainers: [container('setup', '1Gi')] }), {}, 'skip', 'no-memory-limit',
      "containers 'app', 'b' have no memory limit, so /dev/shm cannot be sized from a limit"],
    ['no memory limit, deny', template({ containers: [container('app')] }), { podsWithoutLimit: 'deny' }, 'deny', 'no-memory-limit',
      "container 'app' has no memory limit: set a memory limit so /dev/shm can be sized from it"],
    ['a zero limit is no limit', template({ containers: [container('app', '0')] }), {}, 'skip', 'no-memory-limit', "container 'app' has no memory limit"],
    ['only init containers are targets', template({ containers: [container('app', '4Gi')], initContainers: [container('setup', '1Gi')] }), { containers: ['setup'] },
      'skip', 'no-memory-limit', "only init containers get the mount (init container 'setup'), and they do not set the size"],
    ['a ratio-derived size below the runtime default', template({ containers: [container('app', '100Mi')] }), {}, 'skip', 'below-runtime-default',
      "50Mi from the ratio is below the runtime's default 64Mi, which the pod keeps"],
    ['a ratio annotation below the runtime default', template({ containers: [container('app', '1Gi')] }, { [RATIO]: '0.05' }), {}, 'skip', 'below-runtime-default',
      '51Mi from the ratio is below'],
    ['Windows by node selector', template({ ...limited, nodeSelector: { 'kubernetes.io/os': 'windows' } }), {}, 'skip', 'windows',
      'Windows pods have no /dev/shm (the node selector requires kubernetes.io/os=windows)'],
  ];
  test.each(cases)('%s', (_name, pod, input, action, reason, message) => {
    const result = plan(pod, input);
    expect(result.action).toBe(action);
    expect(result.reason).toBe(reason);
    expect(result.message).toContain(message);
    expect(result.edits).toBeUndefined();
    expect(planToPatch(result)).toEqual([]);
  });

  test('a deny plan still reports the limit', () => {
    expect(plan(template({ containers: [container('app')] }), { podsWithoutLimit: 'deny' }).limit)
      .toEqual({ kind: 'unlimited', containersWithoutLimit: ['app'] });
  });

  const injected: Array<[string, Json, PolicyInput]> = [
    ['inject "true" in opt-out mode', template(limited, { [INJECT]: 'true' }), {}],
    ['inject "true" in opt-in mode', template(limited, { [INJECT]: 'true' }), { podSelection: 'opt-in' }],
    ['Linux', template({ ...limited, os: { name: 'linux' } }), {}],
    ['hostIPC false', template({ ...limited, hostIPC: false }), {}],
    ['a mount below /dev/shm', template({
      containers: [container('app', '4Gi', { volumeMounts: [mount('cache', '/dev/shm/cache')] })],
      volumes: [{ name: 'cache', emptyDir: {} }],
    }), {}],
    ['a mount at /dev/shmem', template({
      containers: [container('app', '4Gi', { volumeMounts: [mount('cache', '/dev/shmem')] })],
      volumes: [{ name: 'cache', emptyDir: {} }],
    }), {}],
    ['another volume named like ours under a custom name', template({ ...limited, volumes: [{ name: 'dshm', configMap: { name: 'x' } }] }), { volumeName: 'shm' }],
  ];
  test.each(injected)('%s: injected', (_name, pod, input) => {
    expect(plan(pod, input).action).toBe('inject');
  });
});

describe('planSharedMemory: updating our own volume', () => {
  function ours(options: { sizeLimit?: string; annotation?: string; memory?: string; extra?: Json[]; mounted?: boolean }): Json {
    const emptyDir: Json = { medium: 'Memory' };
    if (options.sizeLimit !== undefined) emptyDir.sizeLimit = options.sizeLimit;
    return template({
      containers: [
        container('app', options.memory ?? '4Gi', options.mounted === false ? {} : { volumeMounts: [mount('data', '/data'), mount('dshm', '/dev/shm')] }),
        ...(options.extra ?? []),
      ],
      volumes: [{ name: 'data', emptyDir: {} }, { name: 'dshm', emptyDir }],
    }, { team: 'ml', [SIZE_LIMIT]: options.annotation ?? options.sizeLimit ?? '2Gi' });
  }

  test('unchanged when size, mounts and annotation are right', () => {
    const result = plan(ours({ sizeLimit: '2Gi' }));
    expect(result).toMatchObject({ action: 'unchanged', size: '2Gi', sizeBytes: 2n * Gi, targets: ['app'], message: '/dev/shm is already 2Gi' });
    expect(result.edits).toBeUndefined();
    expect(planToPatch(result)).toEqual([]);
  });

  test('unchanged when the sizeLimit is the same amount written differently', () => {
    expect(plan(ours({ sizeLimit: '2048Mi', annotation: '2Gi' })).action).toBe('unchanged');
  });

  test('a mount of our volume at /dev/shm/ counts as the mount', () => {
    const pod = ours({ sizeLimit: '2Gi' });
    pod.spec.containers[0].volumeMounts[1].mountPath = '/dev/shm/';
    const result = plan(pod);
    expect(result.action).toBe('unchanged');
    expect(result.targets).toEqual(['app']);
  });

  test('the limit changed: resize and re-annotate', () => {
    const result = plan(ours({ sizeLimit: '1Gi', memory: '4Gi' }));
    expect(result).toMatchObject({ action: 'update', size: '2Gi', message: "resized /dev/shm 2Gi (container 'app' limit 4Gi, pod limit 4Gi)" });
    expect(result.edits).toEqual<PlanEdits>({
      createMetadata: false,
      createAnnotations: false,
      volume: 'resize',
      createVolumes: false,
      volumeIndex: 1,
      sizeLimitMissing: false,
      mounts: [],
      mountOptions: [],
      hardenMounts: [],
      annotations: [{ key: SIZE_LIMIT, value: '2Gi', exists: true }],
      resources: [],
    });
  });

  test('a new container: the mount is added, nothing else', () => {
    const result = plan(template({
      ...ours({ sizeLimit: '2Gi' }).spec,
      resources: { limits: { memory: '4Gi' } },
      containers: [...ours({ sizeLimit: '2Gi' }).spec.containers, container('worker')],
    }, ours({ sizeLimit: '2Gi' }).metadata.annotations));
    expect(result.action).toBe('update');
    expect(result.edits).toMatchObject({ volume: 'none', annotations: [], mounts: [{ field: 'containers', index: 1, name: 'worker', createList: true }] });
  });

  test('a missing sizeLimit is added', () => {
    const result = plan(ours({ annotation: '2Gi' }));
    expect(result.action).toBe('update');
    expect(result.edits).toMatchObject({ volume: 'resize', sizeLimitMissing: true, annotations: [] });
  });

  test('a sizeLimit that is not a quantity is replaced', () => {
    const result = plan(ours({ sizeLimit: 'lots', annotation: '2Gi' }));
    expect(result.action).toBe('update');
    expect(result.edits).toMatchObject({ volume: 'resize', sizeLimitMissing: false, annotations: [] });
  });

  test('an annotation written differently is rewritten canonically', () => {
    const result = plan(ours({ sizeLimit: '2Gi', annotation: '2048Mi' }));
    expect(result.action).toBe('update');
    expect(result.edits).toMatchObject({ volume: 'none', mounts: [], annotations: [{ key: SIZE_LIMIT, value: '2Gi', exists: true }] });
  });

  test('our volume but no mount any more: the mount comes back', () => {
    const result = plan(ours({ sizeLimit: '2Gi', mounted: false }));
    expect(result.action).toBe('update');
    expect(result.edits).toMatchObject({ volume: 'none', annotations: [], mounts: [{ name: 'app', createList: true }] });
  });
});

describe('planSharedMemory: malformed input never throws', () => {
  const cases: Array<[string, unknown, string]> = [
    ['a null pod', null, 'the pod is not an object'],
    ['a number pod', 42, 'the pod is not an object'],
    ['a string pod', 'pod', 'the pod is not an object'],
    ['an array pod', [], 'the pod is not an object'],
    ['no spec', {}, 'the pod has no spec'],
    ['a null spec', { spec: null }, 'the pod has no spec'],
    ['an array spec', { spec: [] }, 'the pod has no spec'],
    ['a string spec', { spec: 'x' }, 'the pod has no spec'],
    ['string metadata', { metadata: 'x', spec: simple().spec }, 'metadata is not an object'],
    ['array metadata', { metadata: [], spec: simple().spec }, 'metadata is not an object'],
    ['number metadata', { metadata: 0, spec: simple().spec }, 'metadata is not an object'],
    ['containers is a string', { spec: { containers: 'app' } }, 'containers, initContainers or volumes is not a list'],
    ['initContainers is an object', { spec: { containers: [container('a', '1Gi')], initContainers: {} } }, 'containers, initContainers or volumes is not a list'],
    ['volumes is a number', { spec: { containers: [container('a', '1Gi')], volumes: 3 } }, 'containers, initContainers or volumes is not a list'],
    ['a container is null', { spec: { containers: [null] } }, 'a container or volume is not an object'],
    ['a volume is a string', { spec: { containers: [container('a', '1Gi')], volumes: ['dshm'] } }, 'a container or volume is not an object'],
    ['volumeMounts is an object', { spec: { containers: [container('a', '1Gi', { volumeMounts: {} })] } }, "volumeMounts of container 'a' is not a list of objects"],
    ['a mount is a number', { spec: { containers: [container('a', '1Gi', { volumeMounts: [1] })] } }, "volumeMounts of container 'a' is not a list of objects"],
    ['no containers', { spec: { containers: [] } }, 'spec.containers is empty'],
    ['a bad limit', { spec: { containers: [container('a', '4GB')] } }, 'spec.containers[0].resources.limits.memory: "4GB" has an invalid suffix'],
    ['a negative limit', { spec: { containers: [container('a', '-4Gi')] } }, 'spec.containers[0].resources.limits.memory (-4Gi) is negative'],
    ['a bad overhead', { spec: { containers: [container('a', '1Gi')], overhead: { memory: [] } } }, 'spec.overhead.memory is not a quantity'],
  ];
  test.each(cases)('%s', (_name, pod, message) => {
    const result = plan(pod);
    expect(result.action).toBe('skip');
    expect(result.reason).toBe('invalid-pod');
    expect(result.message).toContain(message);
    expect(result.targets).toEqual([]);
  });

  // Every field of two full pods (one with our volume from an earlier run, one fresh), replaced
  // in turn by every kind of junk. Whatever the plan decides, it must not throw, a patch it emits
  // must apply, and the patched pod must plan as unchanged.
  const oursBase = template({
    os: { name: 'linux' },
    hostIPC: false,
    resources: { limits: { memory: '4Gi' } },
    overhead: { memory: '64Mi' },
    containers: [container('app', '4Gi', { volumeMounts: [mount('data', '/data'), mount('dshm', '/dev/shm')] }), container('worker', '1Gi')],
    initContainers: [sidecar('proxy', '128Mi', { volumeMounts: [mount('data', '/data')] }), container('setup', '1Gi')],
    volumes: [{ name: 'data', emptyDir: {} }, { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
  }, { [SIZE_LIMIT]: '1Gi', [INJECT]: 'true', [SIZE]: '1Gi' });
  const freshBase = template({
    os: { name: 'linux' },
    containers: [container('app', '4Gi', { volumeMounts: [mount('data', '/data')] }), container('worker', '1Gi')],
    initContainers: [sidecar('proxy', '128Mi', { volumeMounts: [mount('data', '/data')] }), container('setup', '1Gi')],
    volumes: [{ name: 'data', emptyDir: {} }],
  }, { [INJECT]: 'true', [RATIO]: '0.25' });
  const paths = [
    '', '/metadata', '/metadata/annotations',
    '/metadata/annotations/cdk8s-shm.io~1inject', '/metadata/annotations/cdk8s-shm.io~1size',
    '/metadata/annotations/cdk8s-shm.io~1ratio', '/metadata/annotations/cdk8s-shm.io~1size-limit',
    '/spec', '/spec/os', '/spec/os/name', '/spec/hostIPC', '/spec/resources', '/spec/resources/limits',
    '/spec/resources/limits/memory', '/spec/overhead', '/spec/overhead/memory',
    '/spec/containers', '/spec/containers/0', '/spec/containers/0/name', '/spec/containers/0/resources',
    '/spec/containers/0/resources/limits', '/spec/containers/0/resources/limits/memory',
    '/spec/containers/0/volumeMounts', '/spec/containers/0/volumeMounts/1', '/spec/containers/0/volumeMounts/1/name',
    '/spec/containers/0/volumeMounts/1/mountPath', '/spec/containers/1', '/spec/containers/1/name',
    '/spec/initContainers', '/spec/initContainers/0', '/spec/initContainers/0/restartPolicy',
    '/spec/initContainers/0/volumeMounts', '/spec/initContainers/1/resources/limits/memory',
    '/spec/volumes', '/spec/volumes/1', '/spec/volumes/1/name', '/spec/volumes/1/emptyDir',
    '/spec/volumes/1/emptyDir/medium', '/spec/volumes/1/emptyDir/sizeLimit',
  ];
  const junk: unknown[] = [undefined, null, 0, 42, -1, 1.5, NaN, '', 'x', '/dev/shm', 'dshm', true, false, [], [null], [{}], {}, { name: 'dshm' }];
  const policies: PolicyInput[] = [
    {},
    { containers: ['app', 'setup'] },
    { podsWithoutLimit: 'fixed', fixedSize: '256Mi', includeInitContainers: false },
    { podSelection: 'opt-in', minimum: '1Gi', maximum: '2Gi' },
  ];
  const parentExists = (base: Json, path: string): boolean => {
    if (path === '') return true;
    const parent = at(base, path.slice(0, path.lastIndexOf('/')));
    return typeof parent === 'object' && parent !== null;
  };
  const sweep = [oursBase, freshBase].flatMap(base => paths
    .filter(path => parentExists(base, path))
    .flatMap(path => junk.map(value => [base, path, value] as [Json, string, unknown])));

  test.each(policies)('%p: every field, every junk value', input => {
    const policy = resolvePolicy(input);
    const actions = new Set<string>();
    for (const [base, path, value] of sweep) {
      const pod = withValue(base, path, value);
      let result: ShmPlan;
      try {
        result = planSharedMemory(pod, policy);
      } catch (error) {
        throw new Error(`planSharedMemory threw with ${path} = ${JSON.stringify(value)}: ${error}`);
      }
      actions.add(result.action);
      expect(['inject', 'update', 'unchanged', 'skip', 'deny']).toContain(result.action);
      expect(typeof result.message).toBe('string');
      if (result.action === 'inject' || result.action === 'update') {
        const ops = planToPatch(result);
        expect(ops.length).toBeGreaterThan(0);
        let patched: Json;
        try {
          patched = applyOps(pod, ops);
        } catch (error) {
          throw new Error(`the patch does not apply with ${path} = ${JSON.stringify(value)}: ${error}\n${JSON.stringify(ops)}`);
        }
        // Applying the plan settles the pod: planning again changes nothing.
        const again = planSharedMemory(patched, policy);
        if (again.action !== 'unchanged') {
          throw new Error(`not idempotent with ${path} = ${JSON.stringify(value)}: ${again.action} ${again.message}`);
        }
      }
    }
    // The sweep reaches the interesting outcomes, not only skips.
    expect(actions.has('skip')).toBe(true);
    expect(actions.has('inject')).toBe(true);
    expect(actions.has('update')).toBe(true);
  });
});
