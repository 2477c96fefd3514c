/**
 * The sizing rule, branch by branch: targets, the basis (the writers' limit, not the pod's), the
 * size, the kubelet cap, the runtime floor and Windows. Each case is a pod shape met in public
 * charts; the sizes are worked out by hand in the comments.
 */
import { Gi, Json, Mi, applyOps, container, mount, sidecar, template } from './fixtures';
import { ASKED_SMALL_CASES, BASIS_CASES, BELOW_RUNTIME_DEFAULT_CASES, NOT_WINDOWS_CASES, SMALL_POD, WINDOWS_CASES } from './sizing-cases';
import { PolicyInput, ShmPlan, planSharedMemory, planToPatch, resolvePolicy } from '../../src/core';

const SIZE_LIMIT = 'cdk8s-shm.io/size-limit';

function plan(pod: Json, input: PolicyInput = {}): ShmPlan {
  return planSharedMemory(pod, resolvePolicy(input));
}

describe('the basis is the largest limit among the app containers and sidecars that mount /dev/shm', () => {
  // [name, pod, policy, size, basis container, warning codes]
  test.each(BASIS_CASES)('%s', (_name, pod, input, size, basisContainer, warnings) => {
    const result = plan(pod, input);
    expect(result.action).toBe('inject');
    expect(result.size).toBe(size);
    expect(result.basis?.container).toBe(basisContainer);
    expect(result.warnings.map(w => w.code)).toEqual(warnings);
    // the patch carries exactly that size
    const patched = applyOps(pod, planToPatch(result));
    expect(patched.spec.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: size } });
    expect(patched.metadata.annotations[SIZE_LIMIT]).toBe(size);
  });

  test('an unbounded init container is named by its kind, so that users know what to fix', () => {
    const result = plan(template({ containers: [container('pytorch', '32Gi')], initContainers: [container('git-clone')] }));
    expect(result.warnings).toEqual([{
      code: 'unbounded-container',
      message: "init container 'git-clone' has no memory limit; the /dev/shm pages it writes are not bounded",
      container: 'git-clone',
    }]);
    // the kubelet's pod limit does not exist, and is reported as such
    expect(result.limit).toEqual({ kind: 'unlimited', containersWithoutLimit: ['git-clone'] });
    expect(result.message).toBe("mounted /dev/shm 16Gi (container 'pytorch' limit 32Gi, no pod limit)");
  });

  test('the plan says where the basis came from', () => {
    const result = plan(template({ resources: { limits: { memory: '6Gi' } }, containers: [container('a')] }));
    expect(result.basis).toEqual({ bytes: 6n * Gi, container: 'a', role: 'container', fromPodLevel: true });
    expect(result.message).toBe("mounted /dev/shm 3Gi (pod-level limit 6Gi for container 'a', pod limit 6Gi)");
  });

  test('only when no app container or sidecar target has a limit is the pod without one', () => {
    const result = plan(template({ containers: [container('app')], initContainers: [container('setup', '1Gi'), sidecar('proxy')] }));
    expect(result).toMatchObject({ action: 'skip', reason: 'no-memory-limit' });
    expect(result.message).toBe("container 'app' and sidecar 'proxy' have no memory limit, so /dev/shm cannot be sized from a limit");
  });
});

describe('the kubelet pod limit caps every size', () => {
  test('an explicit size above the pod limit is capped and warned about', () => {
    const result = plan(template({ containers: [container('web', '2Gi'), container('worker', '2Gi')] }), { size: '6Gi' });
    expect(result).toMatchObject({ action: 'inject', size: '4Gi', requestedBytes: 6n * Gi, sizeBytes: 4n * Gi });
    expect(result.warnings.map(w => w.code)).toEqual(['capped-at-limit', 'exceeds-basis']);
  });

  test('a pod-level limit below a container limit caps the share of that container', () => {
    // the container's own 8Gi sets the basis (4Gi), the pod-level 3Gi caps it
    const result = plan(template({ resources: { limits: { memory: '3Gi' } }, containers: [container('app', '8Gi')] }));
    expect(result).toMatchObject({ action: 'inject', size: '3Gi' });
    expect(result.warnings.map(w => w.code)).toEqual(['capped-at-limit']);
  });

  test('without a kubelet pod limit there is no cap', () => {
    const result = plan(template({ containers: [container('app', '2Gi')], initContainers: [container('setup')] }), { size: '3Gi' });
    expect(result).toMatchObject({ action: 'inject', size: '3Gi' });
    expect(result.warnings.map(w => w.code)).toEqual(['exceeds-basis', 'unbounded-container']);
  });
});

describe('never worse than the runtime: a share below 64Mi is not injected', () => {
  test.each(BELOW_RUNTIME_DEFAULT_CASES)('%s: skipped, keeps the runtime default', (_name, pod, input) => {
    const result = plan(pod, input);
    expect(result).toMatchObject({ action: 'skip', reason: 'below-runtime-default' });
    expect(result.message).toContain("is below the runtime's default 64Mi, which the pod keeps");
    expect(planToPatch(result)).toEqual([]);
  });

  test.each(ASKED_SMALL_CASES)('%s asks for it: injected as asked', (_name, input, size) => {
    const result = plan(SMALL_POD, input);
    expect(result).toMatchObject({ action: 'inject', size });
  });

  test('exactly 64Mi is injected', () => {
    expect(plan(template({ containers: [container('exporter', '128Mi')] }))).toMatchObject({ action: 'inject', size: '64Mi' });
  });
});

describe('Windows pods are skipped, whichever way they say so', () => {
  test.each(WINDOWS_CASES)('%s', (_name, spec, why) => {
    const result = plan(template(spec));
    expect(result).toMatchObject({ action: 'skip', reason: 'windows', message: `Windows pods have no /dev/shm (${why})` });
  });

  test.each(NOT_WINDOWS_CASES)('%s: not Windows', (_name, spec) => {
    expect(plan(template(spec)).action).toBe('inject');
  });
});

describe('an existing sizeLimit is read as the kubelet reads it', () => {
  test('a sizeLimit a fraction above the size is resized (rounded up, not down)', () => {
    const pod = template({
      containers: [container('app', '2Gi', { volumeMounts: [mount('dshm', '/dev/shm')] })],
      volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1.0000000001Gi' } }],
    }, { [SIZE_LIMIT]: '1Gi' });
    const result = plan(pod);
    expect(result).toMatchObject({ action: 'update', size: '1Gi', edits: { volume: 'resize' } });
    expect(planToPatch(result)).toEqual([{ op: 'replace', path: '/spec/volumes/0/emptyDir/sizeLimit', value: '1Gi' }]);
    expect(plan(applyOps(pod, planToPatch(result))).action).toBe('unchanged');
  });

  test('the same amount written another way is unchanged', () => {
    const pod = template({
      containers: [container('app', '2Gi', { volumeMounts: [mount('dshm', '/dev/shm')] })],
      volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1024Mi' } }],
    }, { [SIZE_LIMIT]: '1Gi' });
    expect(plan(pod).action).toBe('unchanged');
  });
});

describe('quantities the API server accepts', () => {
  test('a limit with spaces around it, as a manifest may write it', () => {
    expect(plan(template({ containers: [container('app', ' 2Gi ')] }))).toMatchObject({ action: 'inject', size: '1Gi' });
  });

  test.each(['.', '-.'])('a limit of %j is zero, so no limit', memory => {
    expect(plan(template({ containers: [container('app', memory)] }))).toMatchObject({ action: 'skip', reason: 'no-memory-limit' });
  });
});

test('a ratio-derived size is rounded down to whole MiB; an explicit size is taken to the byte', () => {
  expect(plan(template({ containers: [container('app', '1001Mi')] }))).toMatchObject({ size: '500Mi', sizeBytes: 500n * Mi });
  expect(plan(template({ containers: [container('app', '4Gi')] }), { size: '1000' })).toMatchObject({ size: '1000', sizeBytes: 1000n });
});

describe("a pod's own /dev/shm without sizeLimit", () => {
  // Bitnami PostgreSQL: the chart mounts a memory-backed emptyDir without sizeLimit, in postgresql only.
  const bitnami = () => template({
    containers: [
      container('postgresql', '8Gi', { volumeMounts: [mount('data', '/bitnami/postgresql'), mount('dshm', '/dev/shm')] }),
      container('metrics', '256Mi'),
    ],
    volumes: [{ name: 'data', emptyDir: {} }, { name: 'dshm', emptyDir: { medium: 'Memory' } }],
  }, { 'checksum/config': 'abc' });

  test('is left alone by default, and the plan says it is unbounded and what the rule would give', () => {
    const result = plan(bitnami());
    expect(result).toMatchObject({ action: 'skip', reason: 'user-shm-unbounded', basis: { container: 'postgresql', bytes: 8n * Gi } });
    expect(result.message).toBe("container 'postgresql' already mounts volume 'dshm' at /dev/shm, a memory-backed emptyDir without sizeLimit "
      + "that may grow to the node's memory (kubernetes#125852); the rule would give it 4Gi (set sizeUnboundedShm)");
    expect(planToPatch(result)).toEqual([]);
  });

  test('with sizeUnboundedShm, it is sized by the rule from the containers that mount it, and pinned by annotations', () => {
    const result = plan(bitnami(), { sizeUnboundedShm: true });
    expect(result).toMatchObject({ action: 'inject', size: '4Gi', volumeName: 'dshm', targets: ['postgresql'] });
    expect(result.message).toBe("sized the pod's own volume 'dshm': /dev/shm 4Gi (container 'postgresql' limit 8Gi, pod limit 8448Mi)");
    const ops = planToPatch(result);
    expect(ops).toEqual([
      { op: 'add', path: '/metadata/annotations/cdk8s-shm.io~1size-limit', value: '4Gi' },
      { op: 'add', path: '/metadata/annotations/cdk8s-shm.io~1containers', value: 'postgresql' },
      { op: 'add', path: '/metadata/annotations/cdk8s-shm.io~1volume-name', value: 'dshm' },
      { op: 'add', path: '/metadata/annotations/cdk8s-shm.io~1size-unbounded-shm', value: 'true' },
      { op: 'add', path: '/spec/volumes/1/emptyDir/sizeLimit', value: '4Gi' },
    ]);
    const patched = applyOps(bitnami(), ops);
    // the metrics container still has no mount; the volume keeps its name
    expect(patched.spec.containers[1].volumeMounts).toBeUndefined();
    // every later way in, whatever its own default, finds nothing to do
    for (const input of [{}, { sizeUnboundedShm: true }, { includeInitContainers: false }] as PolicyInput[]) {
      expect(plan(patched, input)).toMatchObject({ action: 'unchanged', size: '4Gi' });
    }
  });

  test('a pod can ask for it with an annotation', () => {
    const pod = bitnami();
    pod.metadata.annotations['cdk8s-shm.io/size-unbounded-shm'] = 'true';
    const result = plan(pod);
    expect(result).toMatchObject({ action: 'inject', size: '4Gi' });
    expect(plan(applyOps(pod, planToPatch(result)))).toMatchObject({ action: 'unchanged' });
  });

  test('CloudNativePG names it shm: the name is kept', () => {
    const pod = template({
      containers: [container('postgres', '2Gi', { volumeMounts: [mount('shm', '/dev/shm')] })],
      volumes: [{ name: 'shm', emptyDir: { medium: 'Memory' } }],
    });
    const result = plan(pod, { sizeUnboundedShm: true });
    expect(result).toMatchObject({ action: 'inject', size: '1Gi', volumeName: 'shm' });
    const patched = applyOps(pod, planToPatch(result));
    expect(patched.spec.volumes).toEqual([{ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }]);
    expect(plan(patched)).toMatchObject({ action: 'unchanged', volumeName: 'shm' });
  });

  test('when the rule cannot size it, the plan says why', () => {
    const pod = template({
      containers: [container('app', undefined, { volumeMounts: [mount('dshm', '/dev/shm')] })],
      volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory' } }],
    });
    const result = plan(pod, { sizeUnboundedShm: true, podsWithoutLimit: 'deny' });
    expect(result).toMatchObject({ action: 'skip', reason: 'user-shm-unbounded' });
    expect(result.message).toContain("the rule cannot size it: container 'app' has no memory limit");
  });

  test.each<[string, Json]>([
    ['a bounded one', { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
    ['a disk-backed one', { name: 'dshm', emptyDir: {} }],
    ['a hostPath', { name: 'dshm', hostPath: { path: '/dev/shm' } }],
  ])('%s is the user\'s to keep, even with sizeUnboundedShm', (_name, volume) => {
    const pod = template({ containers: [container('app', '2Gi', { volumeMounts: [mount('dshm', '/dev/shm')] })], volumes: [volume] });
    expect(plan(pod, { sizeUnboundedShm: true })).toMatchObject({ action: 'skip', reason: 'user-shm-mount' });
  });

  test('two different volumes at /dev/shm are left alone', () => {
    const pod = template({
      containers: [
        container('a', '2Gi', { volumeMounts: [mount('one', '/dev/shm')] }),
        container('b', '2Gi', { volumeMounts: [mount('two', '/dev/shm')] }),
      ],
      volumes: [{ name: 'one', emptyDir: { medium: 'Memory' } }, { name: 'two', emptyDir: { medium: 'Memory' } }],
    });
    expect(plan(pod, { sizeUnboundedShm: true })).toMatchObject({ action: 'skip', reason: 'user-shm-mount' });
  });
});
