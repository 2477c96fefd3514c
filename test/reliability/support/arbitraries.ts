/**
 * fast-check arbitraries for pods as the API server would store them: any mix of app containers,
 * sidecars and init containers, pod-level resources, overhead, existing volumes and mounts
 * (including someone else's /dev/shm and an earlier injection of ours), our annotations with good
 * and bad values, and memory quantities in every form the grammar allows.
 *
 * Every generated pod is schema-valid and keeps the Pod rules (unique volume names, unique mount
 * paths, mounts name existing volumes), so that any violation after the patch is ours.
 */
import fc from 'fast-check';
import { applyPatch, deepClone } from 'fast-json-patch';
import { PolicyInput, normalizeMountPath, planSharedMemory, planToPatch, resolvePolicy } from '../../../src/core';

/** A positive memory quantity in one of the grammar's forms, and a label naming the form. */
export const positiveQuantity: fc.Arbitrary<string | number> = fc.oneof(
  // Canonical binary, what the API server mostly re-serialises to: 512Mi, 2Gi.
  fc.tuple(fc.integer({ min: 1, max: 8192 }), fc.constantFrom('Ki', 'Mi', 'Gi', 'Ti')).map(([n, unit]) => `${n}${unit}`),
  // Fractions and the odd spellings of a number: 1.5Gi, .5Gi, 2.Gi, +1Gi.
  fc.tuple(fc.integer({ min: 1, max: 99 }), fc.constantFrom('Mi', 'Gi'), fc.constantFrom('a.b', '.b', 'a.', '+a')).map(([n, unit, form]) =>
    form.replace('a', String(Math.max(1, Math.floor(n / 10)))).replace('b', String(n % 10 || 5)) + unit),
  // Plain bytes, as a string and as a JSON number.
  fc.bigInt({ min: 1n, max: 2n ** 42n }).map(String),
  fc.integer({ min: 1, max: 2 ** 40 }),
  // Decimal SI: 129M, 2G, 500k, 1T, 1E (exa), 1P.
  fc.tuple(fc.integer({ min: 1, max: 4000 }), fc.constantFrom('k', 'M', 'G', 'T')).map(([n, unit]) => `${n}${unit}`),
  fc.constantFrom('1E', '1P', '8Ei', '9Ei', '16Ei'),
  // Exponents: 129e6, 1E9, 5e-1 (half a byte, rounded up).
  fc.tuple(fc.integer({ min: 1, max: 999 }), fc.constantFrom('e', 'E'), fc.integer({ min: -2, max: 12 })).map(([n, e, k]) => `${n}${e}${k}`),
  // Millibytes (966367641600m is real), micro and nano: sub-byte remainders round up.
  fc.tuple(fc.bigInt({ min: 1n, max: 2n ** 34n }), fc.integer({ min: 0, max: 999 })).map(([bytes, rest]) => `${bytes * 1000n + BigInt(rest)}m`),
  fc.tuple(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom('u', 'n')).map(([n, unit]) => `${n}${unit}`),
);

/** Any memory quantity a valid pod may hold, zero (no limit) included. */
export const memoryQuantity: fc.Arbitrary<string | number> = fc.oneof(
  { arbitrary: positiveQuantity, weight: 12 },
  { arbitrary: fc.constantFrom<string | number>('0', 0, '0Gi', '0.0'), weight: 1 },
);

/** Text in the `cdk8s-shm.io/size` annotation: mostly valid, sometimes not. */
const sizeAnnotation = fc.oneof(
  { arbitrary: positiveQuantity.map(String), weight: 4 },
  { arbitrary: fc.constantFrom('1K', '0', '-1Gi', ' 1Gi', 'lots', '1e99999', ''), weight: 1 },
);
const ratioAnnotation = fc.constantFrom('0.5', '0.25', '1', '0.001', '.75', '0', '2', 'half', '1e-1');

const CONTAINER_NAMES = ['app', 'web', 'worker', 'trainer', 'proxy', 'log-shipper', 'init-db', 'migrate', 'a', 'z-9'];
const VOLUME_NAMES = ['data', 'cache', 'config', 'dshm', 'shm', 'scratch', 'token'];
const MOUNT_PATHS = ['/data', '/cache', '/etc/config', '/tmp', '/var/run/x', '/scratch', '/dev/shm/x'];
/** Someone else's /dev/shm, spelled the ways the runtime treats as one. */
const SHM_PATHS = ['/dev/shm', '/dev/shm/', '/dev//shm'];

export type Json = any;

const volumeSource = fc.oneof(
  fc.constant({ emptyDir: {} }),
  positiveQuantity.map(q => ({ emptyDir: { medium: 'Memory', sizeLimit: q } })),
  fc.constant({ emptyDir: { medium: 'Memory' } }),
  fc.constant({ configMap: { name: 'settings' } }),
  fc.constant({ hostPath: { path: '/var/lib/x', type: 'DirectoryOrCreate' } }),
  fc.constant({ secret: { secretName: 'creds' } }),
);

const volumes = fc.uniqueArray(fc.tuple(fc.constantFrom(...VOLUME_NAMES), volumeSource), { selector: ([name]) => name, maxLength: 4 })
  .map(list => list.map(([name, source]) => ({ name, ...source })));

function mountsFor(volumeNames: string[]): fc.Arbitrary<Json[] | undefined> {
  if (volumeNames.length === 0) return fc.constantFrom(undefined, []);
  const mountPath = fc.oneof({ arbitrary: fc.constantFrom(...MOUNT_PATHS), weight: 12 }, { arbitrary: fc.constantFrom(...SHM_PATHS), weight: 1 });
  const mount = fc.record({ name: fc.constantFrom(...volumeNames), mountPath, readOnly: fc.option(fc.boolean(), { nil: undefined }) })
    .map(m => (m.readOnly === undefined ? { name: m.name, mountPath: m.mountPath } : m));
  return fc.oneof(
    fc.constant(undefined),
    fc.constant([]),
    // The API server rejects two mounts at one path; the runtime sees /dev/shm/ and /dev/shm as one.
    fc.uniqueArray(mount, { selector: m => normalizeMountPath(m.mountPath), minLength: 1, maxLength: 3 }),
  );
}

function containerFor(name: string, volumeNames: string[], init: boolean): fc.Arbitrary<Json> {
  return fc.record({
    memory: fc.option(memoryQuantity, { nil: undefined, freq: 4 }),
    cpu: fc.option(fc.constantFrom('100m', '1', '2', 0.5), { nil: undefined }),
    mounts: mountsFor(volumeNames),
    sidecar: init ? fc.boolean() : fc.constant(false),
    resourcesForm: fc.constantFrom('limits', 'limits+requests', 'requests-only'),
  }).map(({ memory, cpu, mounts, sidecar, resourcesForm }) => {
    const limits: Json = {};
    if (memory !== undefined) limits.memory = memory;
    if (cpu !== undefined) limits.cpu = cpu;
    const container: Json = { name, image: `registry.example/${name}:1` };
    if (resourcesForm === 'requests-only') {
      if (cpu !== undefined) container.resources = { requests: { cpu } };
    } else if (Object.keys(limits).length > 0) {
      container.resources = resourcesForm === 'limits' ? { limits } : { limits, requests: { cpu: '10m' } };
    }
    if (mounts !== undefined) container.volumeMounts = mounts;
    if (sidecar) container.restartPolicy = 'Always';
    return container;
  });
}

/** Mostly none; otherwise one or two of ours (good and bad values), the mirror marker rarely. */
const annotations: fc.Arbitrary<Record<string, unknown> | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 6 },
  { arbitrary: fc.constant({}), weight: 1 },
  {
    arbitrary: fc.tuple(
      fc.oneof(
        { arbitrary: fc.constantFrom('true', 'false', 'yes').map(v => ({ 'cdk8s-shm.io/inject': v })), weight: 3 },
        { arbitrary: sizeAnnotation.map(v => ({ 'cdk8s-shm.io/size': v })), weight: 3 },
        { arbitrary: ratioAnnotation.map(v => ({ 'cdk8s-shm.io/ratio': v })), weight: 3 },
        { arbitrary: fc.constantFrom('1Gi', '512Mi', '3').map(v => ({ 'cdk8s-shm.io/size-limit': v })), weight: 2 },
        { arbitrary: fc.constant({ 'kubernetes.io/config.mirror': 'abc' }), weight: 1 },
      ),
      fc.option(fc.constant({ 'example.com/team': 'ml', 'cdk8s-shm.io/inject': 'true' }), { nil: undefined }),
    ).map(([ours, other]) => ({ ...other, ...ours })),
    weight: 4,
  },
);

/**
 * A fresh pod (no injection of ours yet). `named` gives it a metadata.name, which the construct
 * path needs.
 */
export function freshPod(named = false): fc.Arbitrary<Json> {
  return fc.record({
    volumes,
    volumesForm: fc.constantFrom('list', 'absent', 'empty'),
    appNames: fc.uniqueArray(fc.constantFrom(...CONTAINER_NAMES), { minLength: 1, maxLength: 4 }),
    initCount: fc.integer({ min: 0, max: 3 }),
    initForm: fc.constantFrom('list', 'absent'),
    podLimit: fc.option(memoryQuantity, { nil: undefined, freq: 4 }),
    overhead: fc.option(fc.constantFrom('64Mi', '120Mi', '1Gi', '250M'), { nil: undefined, freq: 4 }),
    annotations,
    metadataForm: named ? fc.constantFrom('name', 'name') : fc.constantFrom('name', 'generateName', 'absent'),
    extras: fc.record({
      windows: fc.oneof({ arbitrary: fc.constant(false), weight: 30 }, { arbitrary: fc.constant(true), weight: 1 }),
      hostIPC: fc.oneof({ arbitrary: fc.constant(false), weight: 30 }, { arbitrary: fc.constant(true), weight: 1 }),
      restartPolicy: fc.boolean(),
    }),
  }).chain(shape => {
    const volumeNames = shape.volumes.map(v => v.name);
    const initNames = CONTAINER_NAMES.filter(n => !shape.appNames.includes(n)).slice(0, shape.initCount);
    return fc.tuple(
      fc.tuple(...shape.appNames.map(n => containerFor(n, volumeNames, false))),
      initNames.length > 0 ? fc.tuple(...initNames.map(n => containerFor(n, volumeNames, true))) : fc.constant([] as Json[]),
    ).map(([containers, initContainers]) => {
      const spec: Json = { containers };
      if (initContainers.length > 0 || shape.initForm === 'list') spec.initContainers = initContainers;
      if (shape.volumesForm === 'list' && shape.volumes.length > 0) {spec.volumes = shape.volumes;} else if (shape.volumesForm === 'empty') {spec.volumes = [];} else {
        // No volumes: no mounts either (they would name nothing).
        for (const c of [...containers, ...initContainers]) delete c.volumeMounts;
      }
      if (shape.podLimit !== undefined) spec.resources = { limits: { memory: shape.podLimit } };
      if (shape.overhead !== undefined) spec.overhead = { memory: shape.overhead };
      if (shape.extras.windows) spec.os = { name: 'windows' };
      if (shape.extras.hostIPC) spec.hostIPC = true;
      if (shape.extras.restartPolicy) spec.restartPolicy = 'OnFailure';
      const pod: Json = { apiVersion: 'v1', kind: 'Pod' };
      if (shape.metadataForm === 'name') pod.metadata = { name: 'fuzzed', namespace: 'ml' };
      if (shape.metadataForm === 'generateName') pod.metadata = { generateName: 'fuzzed-' };
      if (shape.annotations !== undefined) pod.metadata = { ...(pod.metadata ?? {}), annotations: shape.annotations };
      pod.spec = spec;
      return pod;
    });
  });
}

/** A policy the constructs can express too (SharedMemoryOptions): ratio, size, bounds, volume name, containers. */
export interface ConstructPolicy {
  readonly ratio?: number;
  /** Mebibytes. */
  readonly sizeMi?: number;
  readonly minimumMi?: number;
  readonly maximumMi?: number;
  readonly volumeName?: string;
  readonly containers?: string[];
  readonly includeInitContainers?: boolean;
}

export const constructPolicy: fc.Arbitrary<ConstructPolicy> = fc.oneof(
  fc.record({
    ratio: fc.option(fc.constantFrom(0.5, 0.25, 0.1, 1, 0.75, 0.333, 0.01, 0.001), { nil: undefined }),
    bounds: fc.option(fc.tuple(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 4096 })), { nil: undefined }),
    boundsForm: fc.constantFrom('both', 'min', 'max'),
  }).map(({ ratio, bounds, boundsForm }) => {
    const [low, high] = bounds ? [Math.min(...bounds), Math.max(...bounds)] : [undefined, undefined];
    return {
      ratio,
      minimumMi: boundsForm !== 'max' ? low : undefined,
      // A maximum below the runtime's 64Mi needs a minimum (the core refuses it alone).
      maximumMi: boundsForm === 'both' ? high : boundsForm === 'max' && high !== undefined ? Math.max(high, 64) : undefined,
    };
  }),
  fc.integer({ min: 1, max: 16384 }).map(sizeMi => ({ sizeMi })),
).chain(sizing => fc.record({
  volumeName: fc.option(fc.constantFrom('dshm', 'shm', 'data'), { nil: undefined }),
  containers: fc.option(fc.subarray([...CONTAINER_NAMES, 'ghost'], { minLength: 1, maxLength: 3 }), { nil: undefined, freq: 6 }),
  includeInitContainers: fc.option(fc.boolean(), { nil: undefined }),
}).map(rest => ({ ...sizing, ...withoutUndefined(rest) })));

/** The same policy as the core reads it. */
export function toPolicyInput(policy: ConstructPolicy): PolicyInput {
  return withoutUndefined({
    ratio: policy.ratio,
    size: policy.sizeMi === undefined ? undefined : `${policy.sizeMi}Mi`,
    minimum: policy.minimumMi === undefined ? undefined : `${policy.minimumMi}Mi`,
    maximum: policy.maximumMi === undefined ? undefined : `${policy.maximumMi}Mi`,
    volumeName: policy.volumeName,
    containers: policy.containers,
    includeInitContainers: policy.includeInitContainers,
  });
}

/** A webhook policy: a construct policy plus selection and what to do without a limit. */
export const webhookPolicy: fc.Arbitrary<PolicyInput> = fc.record({
  base: constructPolicy,
  podSelection: fc.oneof({ arbitrary: fc.constant('opt-out' as const), weight: 4 }, { arbitrary: fc.constant('opt-in' as const), weight: 1 }),
  podsWithoutLimit: fc.constantFrom('skip', 'deny', 'fixed') as fc.Arbitrary<'skip' | 'deny' | 'fixed'>,
  fixedSize: fc.constantFrom('64Mi', '1Gi', '100M'),
}).map(({ base, podSelection, podsWithoutLimit, fixedSize }) => ({
  ...toPolicyInput(base), podSelection, podsWithoutLimit, ...(podsWithoutLimit === 'fixed' ? { fixedSize } : {}),
}));

/**
 * A pod of any history: fresh, or injected earlier under another policy and then changed the way
 * a user or a controller changes pods (a container added, a limit raised, the sizeLimit removed).
 */
export function anyPod(named = false): fc.Arbitrary<Json> {
  return fc.oneof(
    { arbitrary: freshPod(named), weight: 3 },
    {
      weight: 2,
      arbitrary: fc.record({
        pod: freshPod(named),
        earlier: constructPolicy.map(toPolicyInput),
        change: fc.constantFrom('none', 'add-container', 'raise-limit', 'drop-size-limit', 'drop-annotation'),
        memory: positiveQuantity,
      }).map(({ pod, earlier, change, memory }) => {
        const plan = planSharedMemory(pod, resolvePolicy(earlier));
        const injected: Json = applyPatch(deepClone(pod), planToPatch(plan) as any, true, false).newDocument;
        const spec = injected.spec;
        const ours = (spec.volumes ?? []).find((v: Json) => v.name === plan.volumeName);
        if (change === 'add-container') {
          const name = CONTAINER_NAMES.find(n => ![...spec.containers, ...(spec.initContainers ?? [])].some((c: Json) => c.name === n));
          if (name) spec.containers.push({ name, image: 'registry.example/late:1', resources: { limits: { memory } } });
        } else if (change === 'raise-limit') {
          spec.containers[0].resources = { limits: { memory } };
        } else if (change === 'drop-size-limit' && ours?.emptyDir) {
          delete ours.emptyDir.sizeLimit;
        } else if (change === 'drop-annotation' && injected.metadata?.annotations) {
          delete injected.metadata.annotations['cdk8s-shm.io/size-limit'];
        }
        return injected;
      }),
    },
  );
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
