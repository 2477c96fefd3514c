/**
 * `limitFollows`: shared memory on top of the application's own memory. The writers' limits grow by
 * the `/dev/shm` size (app containers and sidecars with a limit of their own, and the pod-level
 * limit), requests that equal their limit grow with it, the pod carries the declared limits, and
 * planning the patched pod again finds nothing to do.
 */
import {
  DECLARED_LIMITS_ANNOTATION, PolicyInput, ShmPlan, applyOperations, planSharedMemory, planToPatch, resolvePolicy,
} from '../../src/core';

const Mi = 2n ** 20n;

function container(name: string, memory?: { limit?: string; request?: string }, extra: object = {}): any {
  const resources: any = {};
  if (memory?.limit) resources.limits = { memory: memory.limit };
  if (memory?.request) resources.requests = { memory: memory.request };
  return { name, image: 'x', ...(memory ? { resources } : {}), ...extra };
}

function pod(containers: any[], initContainers: any[] = [], extra: object = {}): any {
  return { metadata: {}, spec: { containers, ...(initContainers.length ? { initContainers } : {}), ...extra } };
}

const follows = (input: PolicyInput = {}) => resolvePolicy({ limitFollows: true, ...input });

/** Plans, applies the patch, and checks that planning again finds nothing to do. */
function sized(p: any, input: PolicyInput = {}): { plan: ShmPlan; pod: any } {
  const plan = planSharedMemory(p, follows(input));
  const patched = applyOperations(structuredClone(p), planToPatch(plan));
  const again = planSharedMemory(patched, follows(input));
  expect(again.action).toBe('unchanged');
  expect(again.edits).toBeUndefined();
  return { plan, pod: patched };
}

const limitOf = (c: any) => c.resources?.limits?.memory;
const requestOf = (c: any) => c.resources?.requests?.memory;

describe('one writer', () => {
  test('an explicit size: the limit grows by it, and /dev/shm is the size', () => {
    const { plan, pod: p } = sized(pod([container('app', { limit: '1Gi' })]), { size: '256Mi' });
    expect(plan).toMatchObject({ action: 'inject', size: '256Mi' });
    expect(limitOf(p.spec.containers[0])).toBe('1280Mi');
    expect(p.spec.volumes[0].emptyDir.sizeLimit).toBe('256Mi');
    expect(p.metadata.annotations).toMatchObject({ [DECLARED_LIMITS_ANNOTATION]: 'app=1Gi', 'cdk8s-shm.io/limit-follows': 'true', 'cdk8s-shm.io/size-limit': '256Mi' });
    expect(plan.limitGrowth).toEqual([{ name: 'app', declaredBytes: 1024n * Mi, grownBytes: 1280n * Mi, requestGrows: false }]);
    expect(plan.declaredLimit).toMatchObject({ kind: 'limited', bytes: 1024n * Mi });
    expect(plan.limit).toMatchObject({ kind: 'limited', bytes: 1280n * Mi });
    expect(plan.message).toBe("mounted /dev/shm 256Mi (on top of the application's memory: limits 'app' 1Gi -> 1280Mi)");
  });

  test('a share: decided from the limit as declared, before it grows', () => {
    const { plan, pod: p } = sized(pod([container('app', { limit: '2Gi' })]), { ratio: 0.25 });
    expect(plan.size).toBe('512Mi');
    expect(limitOf(p.spec.containers[0])).toBe('2560Mi');
  });

  test('a size as large as the declared limit is no warning: the writer keeps its whole limit beside it', () => {
    const { plan } = sized(pod([container('app', { limit: '1Gi' })]), { size: '1Gi' });
    expect(plan.warnings.map(w => w.code)).not.toContain('equals-basis');
    expect(plan.limitGrowth![0].grownBytes).toBe(2048n * Mi);
  });
});

describe('requests', () => {
  test('Guaranteed (request = limit): the request grows too, and the plan says a quota counts it', () => {
    const { plan, pod: p } = sized(pod([container('app', { limit: '1Gi', request: '1Gi' })]), { size: '256Mi' });
    expect(limitOf(p.spec.containers[0])).toBe('1280Mi');
    expect(requestOf(p.spec.containers[0])).toBe('1280Mi');
    expect(plan.warnings).toContainEqual(expect.objectContaining({ code: 'request-grown', message: expect.stringContaining("'app'") }));
  });

  test('Burstable (request below the limit): the request is kept', () => {
    const { plan, pod: p } = sized(pod([container('app', { limit: '1Gi', request: '512Mi' })]), { size: '256Mi' });
    expect(requestOf(p.spec.containers[0])).toBe('512Mi');
    expect(plan.warnings.map(w => w.code)).not.toContain('request-grown');
  });

  test('no request: none is written (the API server defaults it to the grown limit)', () => {
    const { pod: p } = sized(pod([container('app', { limit: '1Gi' })]), { size: '256Mi' });
    expect(p.spec.containers[0].resources.requests).toBeUndefined();
  });
});

describe('several writers, sidecars, init containers, the pod level', () => {
  test('every app container and sidecar with a limit grows by the size; a plain init container keeps its limit', () => {
    const p = pod(
      [container('app', { limit: '2Gi' }), container('worker', { limit: '1Gi' })],
      [container('prepare', { limit: '256Mi' }), container('proxy', { limit: '128Mi' }, { restartPolicy: 'Always' })],
    );
    const { plan, pod: after } = sized(p, { size: '512Mi' });
    expect(after.spec.containers.map(limitOf)).toEqual(['2560Mi', '1536Mi']);
    expect(after.spec.initContainers.map(limitOf)).toEqual(['256Mi', '640Mi']);
    expect(after.metadata.annotations[DECLARED_LIMITS_ANNOTATION]).toBe('app=2Gi,worker=1Gi,proxy=128Mi');
    // The kubelet's formula on the grown limits: 2560 + 1536 + 640 Mi.
    expect(plan.limit).toMatchObject({ kind: 'limited', bytes: 4736n * Mi });
    expect(plan.targets).toEqual(['app', 'worker', 'prepare', 'proxy']);
  });

  test('a container without a limit of its own does not grow, and none left to grow is said', () => {
    const { plan, pod: p } = sized(pod([container('app')]), { size: '256Mi' });
    expect(p.spec.containers[0].resources).toBeUndefined();
    expect(plan.warnings).toContainEqual(expect.objectContaining({ code: 'limit-not-grown' }));
  });

  test('pod-level resources: the pod-level limit grows (it bounds the pod cgroup), containers without their own do not', () => {
    const p = pod([container('app'), container('proxy', { limit: '256Mi' })], [], { resources: { limits: { memory: '4Gi' }, requests: { memory: '4Gi' } } });
    const { plan, pod: after } = sized(p, { ratio: 0.5 });
    // The basis: the pod-level 4Gi stands in for 'app'; half of it.
    expect(plan.size).toBe('2Gi');
    expect(after.spec.resources).toEqual({ limits: { memory: '6Gi' }, requests: { memory: '6Gi' } });
    expect(limitOf(after.spec.containers[1])).toBe('2304Mi');
    expect(after.metadata.annotations[DECLARED_LIMITS_ANNOTATION]).toBe('proxy=256Mi,@pod=4Gi');
  });
});

describe('the pod carries its decision', () => {
  test('a later way in reads the declared limits: it neither grows them twice nor shrinks them, with a share too', () => {
    const { pod: once } = sized(pod([container('app', { limit: '2Gi', request: '2Gi' })]), { ratio: 0.5 });
    expect(limitOf(once.spec.containers[0])).toBe('3Gi');
    // The pod's own annotations say limitFollows now: a way in with default settings gives the same.
    const plan = planSharedMemory(once, resolvePolicy());
    expect(plan).toMatchObject({ action: 'unchanged', size: '1Gi' });
  });

  test('without limitFollows nothing grows', () => {
    const plain = planSharedMemory(pod([container('app', { limit: '1Gi' })]), resolvePolicy({ size: '256Mi' }));
    expect(plain.edits!.resources).toEqual([]);
    expect(plain.limitGrowth).toBeUndefined();
  });

  test('a declared-limits annotation that does not read is refused, naming it', () => {
    const p = pod([container('app', { limit: '1Gi' })]);
    p.metadata.annotations = { [DECLARED_LIMITS_ANNOTATION]: 'app:1Gi' };
    const plan = planSharedMemory(p, follows({ size: '256Mi' }));
    expect(plan).toMatchObject({ action: 'skip', reason: 'invalid-annotation' });
    expect(plan.unhonoured[0].annotations).toEqual([DECLARED_LIMITS_ANNOTATION]);
  });

  test('the limit-follows annotation turns it on for one pod', () => {
    const p = pod([container('app', { limit: '1Gi' })]);
    p.metadata.annotations = { 'cdk8s-shm.io/limit-follows': 'true', 'cdk8s-shm.io/size': '128Mi' };
    const plan = planSharedMemory(p, resolvePolicy());
    expect(plan.limitGrowth).toEqual([expect.objectContaining({ name: 'app', grownBytes: 1152n * Mi })]);
  });
});
