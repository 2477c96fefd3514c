/**
 * The CEL of SharedMemoryAdmissionPolicy, run by the API server's own code (k8s.io/apiserver's CEL
 * environment, match conditions, variables and JSON patcher; test/support/go/kube/mutating.go), is
 * the core's rule: for every pod of the corpus, for hand-made pods at each limit of CEL, and for
 * thousands of generated pods, the pod the policy returns equals, field for field, the pod the
 * core's patch makes of the same input (planned with `planForAdmissionPolicy`, which leaves
 * alone the pods CEL cannot size exactly); a second run finds nothing to do; the validating
 * policy denies exactly the pods the core denies.
 *
 * The cluster-level claim (the same on a real API server) is test/e2e/admission-policy.test.ts's;
 * what the construct synthesizes, test/admission-policy.test.ts's. Needs Go: `npm run conformance`.
 */
import { Size } from 'cdk8s';
import fc from 'fast-check';
import { PodSelection, PodsWithoutLimit, SharedMemoryAdmissionPolicyProps } from '../../src';
import { HARDEN_MOUNT_GATE_WARNING, POLICY_COST_BOUNDS, Policy, ShmPlan, applyOperations, formatBytes, planForAdmissionPolicy, planResize, resizeToPatch } from '../../src/core';
import { CorpusPod, corePolicyOf, coreResult, podCorpus, synthAdmissionPolicy } from '../support/admission-policy';
import { goProgram, runGoProgram } from '../support/go-program';

interface PodAnswer {
  readonly name: string;
  readonly input: any;
  readonly matched: boolean;
  readonly output: any;
  readonly changed: boolean;
  readonly reinvocationChanged: boolean;
  readonly error?: string;
  readonly verdict?: string;
  readonly reasons?: string[];
}
interface MutatingAnswer { readonly compileErrors: string[]; readonly pods: PodAnswer[] }

/** The oldest Kubernetes whose CEL the policies must compile on: the API server of 1.36 checks new expressions against 1.35's. */
const COMPATIBILITY_VERSION = '1.35';
let binary: string;
beforeAll(() => {
  binary = goProgram('kube');
}, 900_000);

function evaluate(objects: any[], pods: readonly CorpusPod[]): MutatingAnswer {
  // The sizing policy, then the hardening one on the pod it made (the API server runs them in either order, and
  // reinvokes the first on what the second changed: the program's second run is that reinvocation).
  const [policy, ...more] = objects.filter(o => o.kind === 'MutatingAdmissionPolicy' && creation(o));
  const validating = objects.find(o => o.kind === 'ValidatingAdmissionPolicy');
  return runGoProgram<{ mutating: MutatingAnswer }>(binary, {
    mutating: { compatibilityVersion: COMPATIBILITY_VERSION, namespace: 'shop', policy, more, validating, pods: pods.map(p => ({ name: p.name, object: p.pod })) },
  }).mutating;
}

/** Whether a policy acts at a pod's creation (not at its resize). */
const creation = (o: any) => o.spec.matchConstraints.resourceRules.some((r: any) => r.operations.includes('CREATE'));

/** Pods read back as the API server stores them (typed, quantities canonical). */
function canonical(pods: readonly any[]): any[] {
  return runGoProgram<{ mutating: MutatingAnswer }>(binary, {
    mutating: { compatibilityVersion: COMPATIBILITY_VERSION, namespace: 'shop', pods: pods.map((object, i) => ({ name: String(i), object })) },
  }).mutating.pods.map(p => p.input);
}

/** A MutatingAdmissionPolicy that changes nothing: the validating policies then judge the pods as given. */
const NOOP_MUTATION = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'MutatingAdmissionPolicy',
  metadata: { name: 'noop' },
  spec: { mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: "[JSONPatch{op: 'add', path: '/metadata/labels', value: {}}].filter(p, false)" } }] },
};

/** The one pod of the corpus the API server cannot decode: `containers` is an object. */
const UNDECODABLE = 'admission fixture 22-malformed-containers.json';

interface Compared {
  readonly name: string;
  readonly action: string;
  /** Set when the admission policy leaves the pod alone though the core would not. */
  readonly limit?: string;
}

/**
 * Runs the policy and the core on the same pods and checks that they agree; returns each pod's
 * action, and the limit for the pods the policy leaves alone where the core would not.
 */
function expectSameAsCore(props: SharedMemoryAdmissionPolicyProps, pods: readonly CorpusPod[]): Compared[] {
  const answer = evaluate(synthAdmissionPolicy(props), pods);
  expect(answer.compileErrors).toEqual([]);
  const policy: Policy = corePolicyOf(props);
  const plans = answer.pods.map(p => planForAdmissionPolicy(p.input, policy));
  const expected = canonical(answer.pods.map(p => coreResult(p.input, policy, planForAdmissionPolicy)));
  const byRule = canonical(answer.pods.map(p => coreResult(p.input, policy)));
  return answer.pods.map((got, i) => {
    const plan = plans[i];
    // A pod the API server cannot even decode never reaches admission.
    if (got.error?.startsWith('not a pod')) {
      expect(got.name).toBe(UNDECODABLE);
      return { name: got.name, action: 'undecodable' };
    }
    const limited = plan.reason === 'admission-policy-limit';
    const uncertain = limited && plan.message.includes(' may leave ');
    // The policy's result, the core's, and (for the cost budget only) either of the two.
    if (uncertain) expect([expected[i], byRule[i]]).toContainEqual(got.output);
    else expect({ pod: got.name, output: got.output }).toEqual({ pod: got.name, output: expected[i] });
    // Only where CEL cannot follow may the policy fail (it then admits the pod unchanged).
    expect({ pod: got.name, error: got.error ?? null }).toEqual({ pod: got.name, error: limited ? got.error ?? null : null });
    expect({ pod: got.name, reinvocationChanged: got.reinvocationChanged }).toEqual({ pod: got.name, reinvocationChanged: false });
    const verdict = plan.action === 'deny' ? 'deny' : 'admit';
    expect({ pod: got.name, verdict: got.verdict }).toEqual({ pod: got.name, verdict: uncertain ? got.verdict : verdict });
    // The denial says what the core says.
    if (verdict === 'deny' && !uncertain) expect({ pod: got.name, reasons: got.reasons }).toEqual({ pod: got.name, reasons: [plan.message] });
    return { name: got.name, action: plan.action, ...(limited ? { limit: plan.message } : {}) };
  });
}

const VARIANTS: Array<[string, SharedMemoryAdmissionPolicyProps]> = [
  ['defaults', {}],
  ['a quarter, within 256Mi and 8Gi', { ratio: 0.25, minimum: Size.mebibytes(256), maximum: Size.gibibytes(8) }],
  ['opt-in pods', { podSelection: PodSelection.OPT_IN }],
  ['a fixed size for pods without a limit, unbounded /dev/shm sized', { podsWithoutLimit: PodsWithoutLimit.fixedSize(Size.gibibytes(1)), sizeUnboundedShm: true }],
  ['pods without a limit denied', { podsWithoutLimit: PodsWithoutLimit.deny() }],
  ['mounts hardened', { hardenMount: true }],
];

describe('the corpus: CLI fixtures, examples, AdmissionReview fixtures and the sizing tables', () => {
  const corpus = podCorpus();

  test('the corpus is large and covers every action', () => {
    expect(corpus.length).toBeGreaterThan(80);
    const actions = new Set(corpus.map(c => planForAdmissionPolicy(c.pod, corePolicyOf({ podsWithoutLimit: PodsWithoutLimit.deny() })).action));
    expect([...actions].sort()).toEqual(['deny', 'inject', 'skip', 'unchanged', 'update']);
  });

  test.each(VARIANTS)('%s: every pod gets from the policy what the core gives it', (_name, props) => {
    const compared = expectSameAsCore(props, corpus);
    expect(compared.filter(c => c.action === 'inject').length).toBeGreaterThan(props.podSelection === PodSelection.OPT_IN ? 0 : 20);
    // The documented differences of the corpus (src/core/admission-policy-limits.ts): none.
    expect(compared.filter(c => c.limit)).toEqual([]);
  });
});

/** A pod with one container of this memory limit, and more. */
function pod(name: string, memory: string | undefined, extra: { annotations?: Record<string, string>; spec?: any; container?: any } = {}): CorpusPod {
  const container = { name: 'app', image: 'registry.k8s.io/pause:3.9', ...(memory ? { resources: { limits: { memory } } } : {}), ...extra.container };
  return { name, pod: { metadata: { name: 'p', ...(extra.annotations ? { annotations: extra.annotations } : {}) }, spec: { containers: [container], ...extra.spec } } };
}

describe('where CEL cannot follow, the pod is left alone, as planForAdmissionPolicy says', () => {
  const cases: Array<[CorpusPod, string | undefined]> = [
    // Quantities: exact below the bounds, left alone from them on.
    [pod('a fractional limit (966367641600m) is rounded up exactly', '966367641600m'), undefined],
    [pod('a fractional limit of 2^53 bytes and a bit', '9007199254740993500m'), 'beyond what CEL reads'],
    [pod('a fractional limit just below 2^53 bytes', '9007199254740991500m'), undefined],
    [pod('an integer limit just below 2^53 bytes', '9007199254740991'), undefined],
    [pod('an integer limit of 8Pi (2^53 bytes)', '8Pi'), 'beyond what CEL reads'],
    [pod('a limit of 4000Pi', '4000Pi'), 'beyond what CEL reads'],
    [pod('a size annotation of 1e40', '2Gi', { annotations: { 'cdk8s-shm.io/size': '1e40' } }), 'beyond what CEL reads'],
    [pod('a size annotation of 1.5Gi (not an integer quantity to CEL)', '8Gi', { annotations: { 'cdk8s-shm.io/size': '1.5Gi' } }), undefined],
    [pod('a size annotation with spaces (the core and CEL both trim them)', '2Gi', { annotations: { 'cdk8s-shm.io/size': ' 256Mi\u00a0' } }), undefined],
    [pod('a fractional size annotation is rounded down', '2Gi', { annotations: { 'cdk8s-shm.io/size': '100000000.5' } }), undefined],
    // Ratios: decimals up to nine places, no exponent.
    [pod('a ratio of .125', '2Gi', { annotations: { 'cdk8s-shm.io/ratio': '.125' } }), undefined],
    [pod('a ratio of +0.5', '2Gi', { annotations: { 'cdk8s-shm.io/ratio': '+0.5' } }), undefined],
    [pod('a ratio with nine places', '2Gi', { annotations: { 'cdk8s-shm.io/ratio': '0.123456789' } }), undefined],
    [pod('a ratio with ten places', '2Gi', { annotations: { 'cdk8s-shm.io/ratio': '0.1234567891' } }), 'decimal places'],
    [pod('a ratio with an exponent', '2Gi', { annotations: { 'cdk8s-shm.io/ratio': '5e-1' } }), 'exponent'],
    [pod('a ratio of 2 is refused by both', '2Gi', { annotations: { 'cdk8s-shm.io/ratio': '2' } }), undefined],
    // Mount paths: cleaned like the runtime cleans them, except '..'.
    [pod('a mount at /dev//shm/ is /dev/shm', '2Gi', { spec: { volumes: [{ name: 'own', emptyDir: {} }] }, container: { volumeMounts: [{ name: 'own', mountPath: '/dev//shm/' }] } }), undefined],
    [pod('a mount at /dev/./shm is /dev/shm', '2Gi', { spec: { volumes: [{ name: 'own', emptyDir: {} }] }, container: { volumeMounts: [{ name: 'own', mountPath: '/dev/./shm' }] } }), undefined],
    [pod('a mount at /dev/../dev/shm', '2Gi', { spec: { volumes: [{ name: 'own', emptyDir: {} }] }, container: { volumeMounts: [{ name: 'own', mountPath: '/dev/../dev/shm' }] } }), undefined],
    [pod('a mount at /data/../cache', '2Gi', { spec: { volumes: [{ name: 'own', emptyDir: {} }] }, container: { volumeMounts: [{ name: 'own', mountPath: '/data/../cache' }] } }), "a '..' element"],
    [pod('a relative mount dev/shm is not /dev/shm', '2Gi', { spec: { volumes: [{ name: 'own', emptyDir: {} }] }, container: { volumeMounts: [{ name: 'own', mountPath: 'dev/shm' }] } }), undefined],
    // Names: JavaScript and Go trim all but two characters alike.
    [pod('container names with spaces', '2Gi', { annotations: { 'cdk8s-shm.io/containers': ' app ,\u3000other' } }), undefined],
    [pod('a container name after U+FEFF', '2Gi', { annotations: { 'cdk8s-shm.io/containers': '\ufeffapp' } }), 'U+0085 or U+FEFF'],
  ];
  test.each(cases)('$name', (corpusPod, limit) => {
    const [compared] = expectSameAsCore({}, [corpusPod]);
    if (limit === undefined) expect(compared.limit).toBeUndefined();
    else expect(compared.limit).toContain(limit);
  });

});

describe('the cost budget', () => {
  test('the largest pod of POLICY_COST_BOUNDS is sized within the API server\'s budget', () => {
    const { containers: count, mountsPerContainer, volumes: volumeCount, annotationLength } = POLICY_COST_BOUNDS;
    const mounts = Array.from({ length: mountsPerContainer }, (_, i) => ({ name: `v${i % volumeCount}`, mountPath: `/mnt/${i}` }));
    const containers = Array.from({ length: count }, (_, i) => ({ name: `c${i}`, image: 'i', resources: { limits: { memory: '1Gi' } }, volumeMounts: mounts }));
    const volumes = Array.from({ length: volumeCount }, (_, i) => ({ name: `v${i}`, emptyDir: {} }));
    // Every container named, and more names than containers, up to the longest annotation.
    let names = containers.map(c => c.name).join(',');
    for (let i = 0; names.length < annotationLength - 8; i++) names += `,other${i}`;
    const large: CorpusPod = {
      name: 'large',
      pod: { metadata: { name: 'p', annotations: { 'cdk8s-shm.io/containers': names.slice(0, annotationLength).replace(/,[^,]*$/, '') } }, spec: { containers: containers.slice(0, count / 2), initContainers: containers.slice(count / 2), volumes } },
    };
    const [compared] = expectSameAsCore({}, [large]);
    expect(compared.action).toBe('inject');
    const answer = evaluate(synthAdmissionPolicy(), [large]).pods[0];
    expect(answer.error).toBeUndefined();
    expect(answer.output.metadata.annotations['cdk8s-shm.io/size-limit']).toBe('512Mi');
  });

  test('far beyond it, the policy fails and the pod is admitted unchanged (the plan says it may)', () => {
    const containers = Array.from({ length: 1000 }, (_, i) => ({ name: `c${i}`, image: 'i', resources: { limits: { memory: '1Gi' } }, volumeMounts: [{ name: 'data', mountPath: '/data' }] }));
    // Half of them init containers, and every one named in cdk8s-shm.io/containers: each container's name is looked up among
    // a thousand names.
    const named = { 'cdk8s-shm.io/containers': containers.map(c => c.name).join(',') };
    const huge: CorpusPod = {
      name: 'huge',
      pod: { metadata: { name: 'p', annotations: named }, spec: { containers: containers.slice(0, 500), initContainers: containers.slice(500), volumes: [{ name: 'data', emptyDir: {} }] } },
    };
    const answer = evaluate(synthAdmissionPolicy(), [huge]).pods[0];
    expect(answer.error).toMatch(/cost/);
    expect(answer.changed).toBe(false);
    const [compared] = expectSameAsCore({}, [huge]);
    expect(compared.limit).toContain('may leave the pod alone: the pod (1000 containers');
  });
});

describe('generated pods', () => {
  const names = ['app', 'worker', 'proxy', 'setup', 'x'];
  /** `arbitrary` in one case out of `one`, else undefined. */
  const rarely = <T>(arbitrary: fc.Arbitrary<T>, one: number) =>
    fc.oneof({ arbitrary: fc.constant(undefined), weight: one - 1 }, { arbitrary, weight: 1 });
  const quantity = fc.constantFrom('0', '1', '64Mi', '100Mi', '128Mi', '200Mi', '1Gi', '2Gi', '1.5Gi', '3Gi', '8Gi', '966367641600m', '1000000', '0.5',
    '129e6', '1e3', '2Ei', '7Ei', '9007199254740993500m', '1.0000000001Gi');
  const shmPath = fc.constantFrom('/dev/shm', '/dev/shm/', '//dev//shm', '/dev/./shm', '/dev/../dev/shm', 'dev/shm', '/dev/shm/sub', '/dev');
  const mountArb = fc.oneof(
    { weight: 6, arbitrary: fc.constant({ name: 'data', mountPath: '/data' }) },
    { weight: 2, arbitrary: fc.record({ name: fc.constantFrom('dshm', 'shm', 'data'), mountPath: shmPath }) },
    { weight: 1, arbitrary: fc.constant({ name: 'data', mountPath: '/data/../cache' }) },
  );
  const containerArb = (name: string, init: boolean) => fc.record({
    name: fc.constant(name),
    image: fc.constant('i'),
    resources: fc.option(fc.record({ limits: fc.record({ memory: quantity }) }), { nil: undefined, freq: 6 }),
    volumeMounts: fc.option(fc.array(mountArb, { maxLength: 2 }), { nil: undefined }),
    restartPolicy: init ? fc.option(fc.constant('Always'), { nil: undefined }) : fc.constant(undefined),
  }).map(c => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)));
  const shmVolumeArb = fc.constantFrom<any>(
    { name: 'dshm', emptyDir: { medium: 'Memory' } },
    { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
    { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1.0000000001Gi' } },
    { name: 'dshm', emptyDir: {} },
    { name: 'dshm', hostPath: { path: '/dev/shm' } },
    { name: 'shm', emptyDir: { medium: 'Memory' } },
    { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '512Mi' } },
  );
  const ANNOTATIONS: Record<string, string[]> = {
    'size-limit': ['1Gi', '512Mi', ''],
    'inject': ['true', 'false', 'maybe'],
    'ratio': ['0.25', '.5', '1', '1.0', '0', '2', '5e-1', '0.1234567891', '+0.5', ' 0.5'],
    'size': ['1Gi', ' 2Gi', '100m', '1e40', '0', 'abc', '32Mi', '1.5Gi'],
    'minimum': ['64Mi', '8Gi', '16Mi', 'x'],
    'maximum': ['64Mi', '8Gi', '40Mi'],
    'containers': ['app', 'app,proxy', 'app, setup', ' ', 'x', 'app,\ufeff', 'nobody'],
    'include-init-containers': ['true', 'false', 'no'],
    'volume-name': ['dshm', 'shm', 'Bad_Name'],
    'pods-without-limit': ['skip', 'deny', 'fixed', 'never'],
    'fixed-size': ['1Gi', '0'],
    'size-unbounded-shm': ['true', 'false', 'yes'],
    'harden-mount': ['true', 'false', 'on'],
    'deny-unsafe-shrink': ['true', 'no'],
    'typo': ['1'],
  };
  const annotationsArb = fc.tuple(
    fc.subarray(Object.keys(ANNOTATIONS), { maxLength: 3 }).chain(keys => fc.tuple(...keys.map(k => fc.constantFrom(...ANNOTATIONS[k]).map(v => [`cdk8s-shm.io/${k}`, v] as const)))),
    rarely(fc.constant(['kubernetes.io/config.mirror', 'abc'] as const), 30),
  ).map(([ours, mirror]) => Object.fromEntries([...ours, ...(mirror ? [mirror] : [])]));
  const podArb = fc.record({
    apps: fc.integer({ min: 1, max: 3 }),
    inits: fc.integer({ min: 0, max: 2 }),
    annotations: annotationsArb,
    shmVolume: rarely(shmVolumeArb, 3),
    // An earlier injection: our volume with some size, the annotation, the mount in some containers.
    injected: rarely(fc.record({ size: fc.constantFrom('512Mi', '1Gi', '1.0000000001Gi', '64Mi'), mountedIn: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }) }), 4),
    podLevel: rarely(quantity, 5),
    overhead: rarely(fc.constantFrom('64Mi', '1000m'), 6),
    hostIPC: rarely(fc.constant(true), 20),
    windows: rarely(fc.constantFrom<any>({ os: { name: 'windows' } }, { nodeSelector: { 'kubernetes.io/os': 'windows' } }, { nodeSelector: { 'kubernetes.io/os': 'linux' } }), 10),
  }).chain(shape => fc.tuple(
    fc.tuple(...names.slice(0, shape.apps).map(n => containerArb(n, false))),
    shape.inits === 0 ? fc.constant([]) : fc.tuple(...names.slice(3, 3 + shape.inits).map(n => containerArb(n, true))),
  ).map(([containers, initContainers]) => {
    const volumes: any[] = [{ name: 'data', emptyDir: {} }];
    const annotations = { ...shape.annotations };
    if (shape.injected) {
      volumes.push({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: shape.injected.size } });
      annotations['cdk8s-shm.io/size-limit'] ??= shape.injected.size;
      [...containers, ...initContainers].forEach((c: any, i) => {
        if (shape.injected!.mountedIn[i]) c.volumeMounts = [...(c.volumeMounts ?? []).filter((m: any) => m.name !== 'dshm'), { name: 'dshm', mountPath: '/dev/shm' }];
      });
    } else if (shape.shmVolume) {
      volumes.push(shape.shmVolume);
    }
    return {
      metadata: { name: 'generated', annotations },
      spec: {
        containers,
        ...(initContainers.length > 0 ? { initContainers } : {}),
        volumes,
        ...(shape.podLevel ? { resources: { limits: { memory: shape.podLevel } } } : {}),
        ...(shape.overhead ? { overhead: { memory: shape.overhead } } : {}),
        ...(shape.hostIPC ? { hostIPC: true } : {}),
        ...shape.windows,
      },
    };
  }));

  test.each(VARIANTS)('%s: 1,000 generated pods get from the policy what the core gives them', (_name, props) => {
    const seed = Number(process.env.CDK8S_SHM_SEED ?? 20260316);
    const optIn = props.podSelection === PodSelection.OPT_IN;
    const pods = fc.sample(podArb, { numRuns: 1000, seed }).map((p, i) => {
      // Under opt-in, half of the pods ask for it.
      if (optIn && i % 2 === 0) p.metadata.annotations['cdk8s-shm.io/inject'] ??= 'true';
      return { name: `generated #${i} (seed ${seed})`, pod: p };
    });
    const compared = expectSameAsCore(props, pods);
    // The generator reaches every action and every limit.
    const counts = new Map<string, number>();
    for (const c of compared) counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
    expect(counts.get('inject')).toBeGreaterThan(optIn ? 20 : 60);
    expect(counts.get('update')).toBeGreaterThan(optIn ? 5 : 20);
    expect(compared.filter(c => c.limit).length).toBeGreaterThan(optIn ? 10 : 40);
    if (props.podsWithoutLimit?._mode === 'deny') expect(counts.get('deny')).toBeGreaterThan(2);
  }, 300_000);
});

describe('the warnings policy warns about exactly the annotations the core cannot honour', () => {
  /** Pods whose annotations cannot be honoured, each way: [pod, the annotations the core names]. */
  const UNHONOURED: CorpusPod[] = [
    pod('contradicting settings', '4Gi', { annotations: { 'cdk8s-shm.io/size': '1Gi', 'cdk8s-shm.io/ratio': '0.25' } }),
    pod('a ratio that does not parse', '4Gi', { annotations: { 'cdk8s-shm.io/ratio': 'half' } }),
    pod('an inject that is neither true nor false', '4Gi', { annotations: { 'cdk8s-shm.io/inject': 'enabled' } }),
    pod('a container the pod lacks', '4Gi', { annotations: { 'cdk8s-shm.io/containers': 'app,ghost' } }),
    pod('only containers the pod lacks', '4Gi', { annotations: { 'cdk8s-shm.io/containers': 'ghost,spirit' } }),
    pod('a key that is none of ours', '4Gi', { annotations: { 'cdk8s-shm.io/sise': '1Gi' } }),
    pod('a maximum below the runtime default', '4Gi', { annotations: { 'cdk8s-shm.io/maximum': '64M' } }),
    pod('a minimum above the maximum', '4Gi', { annotations: { 'cdk8s-shm.io/minimum': '2Gi', 'cdk8s-shm.io/maximum': '1Gi' } }),
    pod('a fixed size without fixed', '4Gi', { annotations: { 'cdk8s-shm.io/fixed-size': '1Gi' } }),
  ];
  const FINE: CorpusPod[] = [
    pod('no annotations', '4Gi'),
    pod('a ratio', '4Gi', { annotations: { 'cdk8s-shm.io/ratio': '0.25' } }),
    pod('a small maximum with a minimum', '4Gi', { annotations: { 'cdk8s-shm.io/maximum': '32Mi', 'cdk8s-shm.io/minimum': '16Mi' } }),
    pod('opted out, whatever else it says', '4Gi', { annotations: { 'cdk8s-shm.io/inject': 'false', 'cdk8s-shm.io/ratio': 'half' } }),
    pod('the checksums of our own programs', '4Gi', { annotations: { 'cdk8s-shm.io/server-checksum': 'abc', 'cdk8s-shm.io/plugin-checksum': 'def' } }),
  ];

  function warnings(props: SharedMemoryAdmissionPolicyProps, pods: readonly CorpusPod[], mutation?: unknown): PodAnswer[] {
    const objects = synthAdmissionPolicy(props);
    const [policy, ...more] = mutation ? [mutation] : objects.filter(o => o.kind === 'MutatingAdmissionPolicy' && creation(o));
    const validating = objects.find(o => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.name.endsWith('-warnings'));
    const answer = runGoProgram<{ mutating: MutatingAnswer }>(binary, {
      mutating: { compatibilityVersion: COMPATIBILITY_VERSION, namespace: 'shop', policy, more, validating, pods: pods.map(p => ({ name: p.name, object: p.pod })) },
    }).mutating;
    expect(answer.compileErrors).toEqual([]);
    return answer.pods;
  }

  test('each pod the core finds annotations it cannot honour on gets a warning naming them', () => {
    const policy = corePolicyOf();
    for (const answer of warnings({}, UNHONOURED)) {
      const unhonoured = planForAdmissionPolicy(UNHONOURED.find(p => p.name === answer.name)!.pod, policy).unhonoured;
      expect(unhonoured.length).toBeGreaterThan(0);
      // A failed validation of a policy bound with Warn: the messages are the client's warnings.
      expect({ pod: answer.name, verdict: answer.verdict }).toEqual({ pod: answer.name, verdict: 'deny' });
      for (const key of unhonoured.flatMap(u => u.annotations)) {
        expect({ pod: answer.name, named: answer.reasons!.some(r => r.includes(key)) }).toEqual({ pod: answer.name, named: true });
      }
    }
  });

  test('pods whose annotations are honoured, or that opted out, get none', () => {
    const policy = corePolicyOf();
    for (const answer of warnings({}, FINE)) {
      expect(planForAdmissionPolicy(FINE.find(p => p.name === answer.name)!.pod, policy).unhonoured).toEqual([]);
      expect({ pod: answer.name, verdict: answer.verdict, reasons: answer.reasons ?? [] }).toEqual({ pod: answer.name, verdict: 'admit', reasons: [] });
    }
  });

  test('hardenMount: the warning that the options need VolumeBindMountOptions where the core asks for them and the stored pod lacks them', () => {
    const props = { hardenMount: true };
    const policy = corePolicyOf(props);
    // The pods as the policy admits them (the core's result), then as an API server without VolumeBindMountOptions stores them.
    const admitted = podCorpus()
      .map(c => ({ name: c.name, pod: coreResult(c.pod, policy, planForAdmissionPolicy), plan: planForAdmissionPolicy(c.pod, policy) }));
    const dropped = admitted.map(c => ({ ...c, pod: JSON.parse(JSON.stringify(c.pod, (k, v) => (k === 'bindMountOptions' ? undefined : v))) }));
    const asks = (plan: ShmPlan) => (plan.action === 'inject' || plan.action === 'update') && plan.warnings.some(w => w.code === 'harden-mount-gate');
    const warned = (answer: PodAnswer) => answer.reasons?.includes(HARDEN_MOUNT_GATE_WARNING) ?? false;
    const gateOff = warnings(props, dropped, NOOP_MUTATION);
    const gateOn = warnings(props, admitted, NOOP_MUTATION);
    admitted.forEach((c, i) => {
      if (gateOff[i].error?.startsWith('not a pod')) return;
      expect({ pod: c.name, gateOff: warned(gateOff[i]), gateOn: warned(gateOn[i]) }).toEqual({ pod: c.name, gateOff: asks(c.plan), gateOn: false });
    });
    expect(admitted.filter(c => asks(c.plan)).length).toBeGreaterThan(20);
  }, 300_000);

  test('the corpus: a warning exactly where the core names annotations it cannot honour', () => {
    for (const props of [{}, { podSelection: PodSelection.OPT_IN }] as SharedMemoryAdmissionPolicyProps[]) {
      const policy = corePolicyOf(props);
      const corpus = podCorpus();
      for (const answer of warnings(props, corpus)) {
        const unhonoured = planForAdmissionPolicy(corpus.find(p => p.name === answer.name)!.pod, policy).unhonoured;
        if (answer.error?.startsWith('not a pod')) continue;
        expect({ pod: answer.name, warned: answer.verdict === 'deny' }).toEqual({ pod: answer.name, warned: unhonoured.length > 0 });
      }
    }
  }, 300_000);
});

describe('resizes: the resize policies answer as planResize', () => {
  /** A Burstable pod of one app container with this memory limit, sized at creation by the core (as any way in does). */
  function created(limit: string | undefined, extra: { annotations?: Record<string, string>; spec?: any; policy?: Policy } = {}): any {
    const resources = limit ? { requests: { memory: '64Mi', cpu: '100m' }, limits: { memory: limit, cpu: '1' } } : { requests: { cpu: '100m' }, limits: { cpu: '1' } };
    const raw = { metadata: { name: 'p', annotations: { ...extra.annotations } }, spec: { containers: [{ name: 'app', image: 'i', resources }], ...extra.spec } };
    return coreResult(raw, extra.policy ?? corePolicyOf());
  }
  /** The same pod with the app container's limits (or the pod-level ones) changed, as `kubectl patch --subresource resize` asks. */
  function resized(stored: any, limits: Record<string, string | undefined>, podLevel = false): any {
    const copy = structuredClone(stored);
    const owner = podLevel ? copy.spec : copy.spec.containers[0];
    owner.resources.limits = Object.fromEntries(Object.entries({ ...owner.resources.limits, ...limits }).filter(([, v]) => v !== undefined));
    return copy;
  }
  const withVolume = (original: any, sizeLimit: string) => {
    const copy = structuredClone(original);
    copy.spec.volumes.find((v: any) => v.name === 'dshm').emptyDir.sizeLimit = sizeLimit;
    return copy;
  };

  const limitFollows = created('1Gi', { annotations: { 'cdk8s-shm.io/limit-follows': 'true' } });
  const CASES: Array<[string, any, any]> = [
    ['growth', created('1Gi'), resized(created('1Gi'), { memory: '3Gi' })],
    ['shrink to the /dev/shm', created('2Gi'), resized(created('2Gi'), { memory: '1Gi' })],
    ['shrink below the current /dev/shm', created('4Gi'), resized(created('4Gi'), { memory: '1Gi' })],
    ['shrink that stays above /dev/shm', created('4Gi'), resized(created('4Gi'), { memory: '3Gi' })],
    ['shrink below the runtime default', created('1Gi'), resized(created('1Gi'), { memory: '100Mi' })],
    ['the limit removed', created('1Gi'), resized(created('1Gi'), { memory: undefined })],
    ['CPU only', created('1Gi'), resized(created('1Gi'), { cpu: '2' })],
    ['explicit size kept', created('2Gi', { annotations: { 'cdk8s-shm.io/size': '256Mi' } }), resized(created('2Gi', { annotations: { 'cdk8s-shm.io/size': '256Mi' } }), { memory: '4Gi' })],
    ['explicit size capped by a shrink', created('2Gi', { annotations: { 'cdk8s-shm.io/size': '256Mi' } }), resized(created('2Gi', { annotations: { 'cdk8s-shm.io/size': '256Mi' } }), { memory: '200Mi' })],
    ['a quarter, by annotation', created('4Gi', { annotations: { 'cdk8s-shm.io/ratio': '0.25' } }), resized(created('4Gi', { annotations: { 'cdk8s-shm.io/ratio': '0.25' } }), { memory: '1Gi' })],
    ['skipped pod (below the runtime default at creation)', created('100Mi'), resized(created('100Mi'), { memory: '4Gi' })],
    ['pod-level resources', created(undefined, { spec: { resources: { limits: { memory: '2Gi' } } } }),
      resized(created(undefined, { spec: { resources: { limits: { memory: '2Gi' } } } }), { memory: '6Gi' }, true)],
    ['pod-level shrink', created(undefined, { spec: { resources: { limits: { memory: '2Gi' } } } }),
      resized(created(undefined, { spec: { resources: { limits: { memory: '2Gi' } } } }), { memory: '1Gi' }, true)],
    ['resize setting sizeLimit itself', created('1Gi'), withVolume(resized(created('1Gi'), { memory: '3Gi' }), '1Gi')],
    ['resize setting sizeLimit itself, on a shrink', created('2Gi'), withVolume(resized(created('2Gi'), { memory: '1Gi' }), '768Mi')],
    ['resize raising sizeLimit itself to the new limit', created('2Gi'), withVolume(resized(created('2Gi'), { memory: '3Gi' }), '3Gi')],
    ['resize raising sizeLimit itself above a shrunk limit', created('2Gi'), withVolume(resized(created('2Gi'), { memory: '1536Mi' }), '2Gi')],
    ['limitFollows, growth', limitFollows, resized(limitFollows, { memory: '3Gi' })],
    ['limitFollows, shrink below /dev/shm', limitFollows, resized(limitFollows, { memory: '512Mi' })],
    ['denyUnsafeShrink by annotation', created('2Gi', { annotations: { 'cdk8s-shm.io/deny-unsafe-shrink': 'true' } }),
      resized(created('2Gi', { annotations: { 'cdk8s-shm.io/deny-unsafe-shrink': 'true' } }), { memory: '1Gi' })],
    ['opted out since', created('2Gi'), { ...resized(created('2Gi'), { memory: '1Gi' }), metadata: { name: 'p', annotations: { ...created('2Gi').metadata.annotations, 'cdk8s-shm.io/inject': 'false' } } }],
  ];

  /** The resize policies of these props on each case: the mutation, then each validating policy on its result. */
  function resizeAnswers(props: SharedMemoryAdmissionPolicyProps, validating: 'resize-warnings' | 'unsafe-shrink'): PodAnswer[] {
    const objects = synthAdmissionPolicy(props);
    const policy = objects.find(o => o.kind === 'MutatingAdmissionPolicy' && o.metadata.name === 'cdk8s-shm-resize') ?? NOOP_MUTATION;
    const judge = objects.find(o => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.name === `cdk8s-shm-${validating}`);
    const stored = canonical(CASES.map(c => c[1]));
    const answer = runGoProgram<{ mutating: MutatingAnswer }>(binary, {
      mutating: {
        compatibilityVersion: COMPATIBILITY_VERSION,
        namespace: 'shop',
        policy,
        validating: judge,
        pods: CASES.map(([name, , object], i) => ({ name, object, oldObject: stored[i] })),
      },
    }).mutating;
    expect(answer.compileErrors).toEqual([]);
    return answer.pods.map((p, i) => ({ ...p, stored: stored[i] }) as PodAnswer & { stored: any });
  }

  const POLICIES: Array<[string, SharedMemoryAdmissionPolicyProps]> = [
    ['warn (the default)', {}],
    ['resizeVolumes', { resizeVolumes: true }],
    ['denyUnsafeShrink', { denyUnsafeShrink: true }],
    ['resizeVolumes and denyUnsafeShrink', { resizeVolumes: true, denyUnsafeShrink: true }],
  ];

  test.each(POLICIES)('%s: the patch, the warnings and the refusal are planResize\'s', (_name, props) => {
    const policy = corePolicyOf(props);
    const warned = resizeAnswers(props, 'resize-warnings') as Array<PodAnswer & { stored: any }>;
    const denied = resizeAnswers(props, 'unsafe-shrink');
    const outcomes = new Set<string>();
    warned.forEach((got, i) => {
      const plan = planResize(got.stored, got.input, policy);
      outcomes.add(`${plan.action}/${plan.outcome}`);
      const expected = canonical([applyOperations(structuredClone(got.input), resizeToPatch(plan))])[0];
      expect({ pod: got.name, error: got.error ?? null, output: got.output }).toEqual({ pod: got.name, error: null, output: expected });
      expect({ pod: got.name, reinvocationChanged: got.reinvocationChanged }).toEqual({ pod: got.name, reinvocationChanged: false });
      // A failed validation of the policy bound with Warn: its message is the client's warning.
      expect({ pod: got.name, warnings: got.verdict === 'deny' ? got.reasons : [] }).toEqual({ pod: got.name, warnings: plan.warnings });
      // One documented difference (resize-cel.ts): for a pod whose limits follow /dev/shm, the size the denial says the rule gives
      // is the rule's under the new limits, where the core's is under the limits its annotation declared at creation.
      const denial = plan.denial && got.name.startsWith('limitFollows')
        ? plan.denial.replace(/the rule gives it [^)]*\)/, `the rule gives it ${formatBytes(BigInt(plan.atOrAboveWriter!.limitBytes) / 2n)})`) : plan.denial;
      expect({ pod: got.name, verdict: denied[i].verdict, reasons: denied[i].reasons ?? [] })
        .toEqual({ pod: got.name, verdict: plan.outcome === 'deny' ? 'deny' : 'admit', reasons: denial ? [denial] : [] });
    });
    // The table reaches every outcome the policy allows.
    expect(outcomes.has(props.resizeVolumes ? 'follow/resize' : 'follow/allow')).toBe(true);
    expect(outcomes.has('keep/allow') && outcomes.has('unchanged/allow') && outcomes.has('not-ours/allow')).toBe(true);
    // A shrink the volume follows is safe: with resizeVolumes only a pod that keeps its size (limitFollows) can be refused.
    expect([...outcomes].some(o => o.endsWith('/deny'))).toBe(!props.resizeVolumes || props.denyUnsafeShrink === true);
  });
});
