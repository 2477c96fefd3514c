/**
 * After a resize: the core plans the `/dev/shm` of a running pod under its new limits, from the pod
 * as a way in sized it (its annotations and volume), and says what a way in does with the resize.
 */
import { Gi, Mi, applyOps, container, podObject, sidecar } from './fixtures';
import {
  PolicyInput, ResizePlan, SIZE_LIMIT_ANNOTATION, applyOperations, bytesCeil, planResize, planSharedMemory, planToPatch, resizeToPatch,
  resolvePolicy,
} from '../../src/core';

/** A pod as a way in created it: planned and patched with `input`. */
function stored(spec: any, input: PolicyInput = {}, annotations: Record<string, string> = {}): any {
  const pod = podObject('p', spec, Object.keys(annotations).length > 0 ? { annotations } : {});
  return applyOperations(structuredClone(pod), planToPatch(planSharedMemory(pod, resolvePolicy(input))));
}

/** The same pod with new memory limits (by container name; '@pod' for the pod-level one), as `kubectl patch --subresource resize` sends it. */
function resized(pod: any, limits: Record<string, string>): any {
  const copy = structuredClone(pod);
  for (const c of [...copy.spec.containers, ...copy.spec.initContainers ?? []]) {
    if (limits[c.name] !== undefined) c.resources = { ...c.resources, limits: { ...c.resources?.limits, memory: limits[c.name] } };
  }
  if (limits['@pod'] !== undefined) copy.spec.resources = { limits: { memory: limits['@pod'] } };
  return copy;
}

const sizeLimit = (pod: any) => pod.spec.volumes?.find((v: any) => v.name === 'dshm')?.emptyDir?.sizeLimit;
const app = (limit: string) => ({ containers: [container('app', limit)] });

/** The size the rule gives a pod created with these limits: what a resize should follow. */
function ruleFor(pod: any, input: PolicyInput = {}): bigint | undefined {
  const fresh = structuredClone(pod);
  delete fresh.metadata.annotations;
  delete fresh.spec.volumes;
  for (const c of [...fresh.spec.containers, ...fresh.spec.initContainers ?? []]) delete c.volumeMounts;
  return planSharedMemory(fresh, resolvePolicy(input)).sizeBytes;
}

function plan(before: any, after: any, input: PolicyInput = {}): ResizePlan {
  return planResize(before, after, resolvePolicy(input));
}

describe('the size under the new limits', () => {
  const cases: Array<[string, any, Record<string, string>, PolicyInput, Partial<ResizePlan>]> = [
    ['growth', app('1Gi'), { app: '2Gi' }, {}, { action: 'follow', current: '512Mi', rule: '1Gi', unsafe: false }],
    ['a shrink that stays below the new limit', app('2Gi'), { app: '1536Mi' }, {}, { action: 'follow', current: '1Gi', rule: '768Mi', unsafe: false }],
    ['a shrink to the /dev/shm the pod keeps', app('2Gi'), { app: '1Gi' }, {}, { action: 'follow', current: '1Gi', rule: '512Mi', unsafe: true }],
    ['a shrink below the /dev/shm the pod keeps', app('2Gi'), { app: '768Mi' }, {}, { action: 'follow', current: '1Gi', rule: '384Mi', unsafe: true }],
    ['pod-level resources', { resources: { limits: { memory: '2Gi' } }, containers: [container('app')] }, { '@pod': '4Gi' }, {},
      { action: 'follow', current: '1Gi', rule: '2Gi', unsafe: false }],
    ['a sidecar that sets the basis', { containers: [container('app', '512Mi')], initContainers: [sidecar('proxy', '2Gi')] }, { proxy: '1Gi' }, {},
      { action: 'follow', current: '1Gi', rule: '512Mi', unsafe: true }],
  ];
  test.each(cases)('%s', (_name, spec, limits, input, expected) => {
    const before = stored(spec, input);
    const after = resized(before, limits);
    const result = plan(before, after, input);
    expect(result).toMatchObject(expected);
    // The rule, not a figure of this test: a pod created with the new limits gets the same.
    expect(result.ruleBytes).toBe(ruleFor(after, input));
    expect(result.currentBytes).toBe(bytesCeil(sizeLimit(before)));
  });

  test('a resize that changes only CPU: nothing to follow, nothing to say', () => {
    const before = stored({ containers: [container('app', '2Gi', { resources: { limits: { memory: '2Gi', cpu: '1' } } })] });
    const after = structuredClone(before);
    after.spec.containers[0].resources.limits.cpu = '2';
    expect(plan(before, after)).toMatchObject({ action: 'unchanged', outcome: 'allow', warnings: [], unsafe: false, current: '1Gi', rule: '1Gi' });
  });

  test("an explicit size is kept while the new limits hold it, and capped at the pod limit like at creation when they don't", () => {
    const before = stored(app('1Gi'), {}, { 'cdk8s-shm.io/size': '256Mi' });
    expect(plan(before, resized(before, { app: '2Gi' }))).toMatchObject({ action: 'unchanged', current: '256Mi', rule: '256Mi', warnings: [] });
    const shrunk = plan(before, resized(before, { app: '128Mi' }));
    expect(shrunk).toMatchObject({ action: 'follow', current: '256Mi', rule: '128Mi', unsafe: true });
  });

  test('a pod the rule skipped has no /dev/shm of ours: nothing follows', () => {
    const optedOut = stored(app('2Gi'), {}, { 'cdk8s-shm.io/inject': 'false' });
    expect(sizeLimit(optedOut)).toBeUndefined();
    expect(plan(optedOut, resized(optedOut, { app: '4Gi' }))).toMatchObject({ action: 'not-ours', outcome: 'allow', warnings: [] });
    const small = stored(app('100Mi'));
    expect(sizeLimit(small)).toBeUndefined();
    expect(plan(small, resized(small, { app: '1Gi' }))).toMatchObject({ action: 'not-ours', outcome: 'allow' });
  });

  test('a /dev/shm of ours the rule no longer gives under the new limits keeps its size, and says so', () => {
    const before = stored(app('1Gi'));
    const result = plan(before, resized(before, { app: '120Mi' }));
    expect(result).toMatchObject({ action: 'keep', current: '512Mi', unsafe: true, outcome: 'allow' });
    expect(result.rule).toBeUndefined();
    expect(result.plan.reason).toBe('below-runtime-default');
    expect(result.warnings[0]).toMatch(/^\/dev\/shm stays 512Mi until the pod is recreated; under the new limits the rule gives no \/dev\/shm \(below-runtime-default/);
  });

  test("limitFollows: the size stays on top of the user's new limit, which is never grown back", () => {
    const before = stored(app('1Gi'), { limitFollows: true, size: '256Mi' });
    expect(before.spec.containers[0].resources.limits.memory).toBe('1280Mi');
    const grown = plan(before, resized(before, { app: '2Gi' }), { limitFollows: true, size: '256Mi' });
    expect(grown).toMatchObject({ action: 'keep', current: '256Mi', outcome: 'allow', unsafe: false, warnings: [] });
    expect(resizeToPatch(grown)).toEqual([]);
    const squeezed = plan(before, resized(before, { app: '200Mi' }), { limitFollows: true, size: '256Mi', resizeVolumes: true });
    expect(squeezed).toMatchObject({ action: 'keep', unsafe: true, atOrAboveWriter: { description: "container 'app'", limitBytes: 200n * Mi } });
  });

  test('a resize that sets sizeLimit itself keeps it', () => {
    const before = stored(app('2Gi'));
    const after = resized(before, { app: '4Gi' });
    after.spec.volumes[0].emptyDir.sizeLimit = '3Gi';
    expect(plan(before, after, { resizeVolumes: true })).toMatchObject({ action: 'keep', outcome: 'allow', current: '1Gi', rule: '2Gi' });
  });

  test('a sizeLimit the resize sets itself is judged at that size where the cluster keeps it, and at the current size where it drops it', () => {
    const before = stored(app('2Gi'));
    const after = resized(before, { app: '3Gi' });
    after.spec.volumes[0].emptyDir.sizeLimit = '3Gi';
    const kept = plan(before, after, { resizeVolumes: true, denyUnsafeShrink: true });
    expect(kept).toMatchObject({ action: 'keep', outcome: 'deny', unsafe: true, atOrAboveWriter: { limitBytes: 3n * Gi } });
    expect(kept.denial).toMatch(/^the resize sets the \/dev\/shm of container 'app' to 3Gi, at or above its 3Gi memory limit/);
    // Without the gate the API server drops the sizeLimit: /dev/shm stays 1Gi, far below the new limit.
    const dropped = plan(before, after, { denyUnsafeShrink: true });
    expect(dropped).toMatchObject({ action: 'keep', outcome: 'allow', unsafe: false });
    expect(dropped.atOrAboveWriter).toBeUndefined();
    expect(dropped.message).toBe('/dev/shm stays 1Gi: the resize sets sizeLimit 3Gi itself');
    // A sizeLimit of its own below the writer's limit is the user's choice, and safe.
    after.spec.volumes[0].emptyDir.sizeLimit = '1536Mi';
    expect(plan(before, after, { resizeVolumes: true, denyUnsafeShrink: true })).toMatchObject({
      outcome: 'allow', unsafe: false, message: '/dev/shm becomes 1536Mi: the resize sets sizeLimit 1536Mi itself',
    });
  });

  test('an explicit size at or above the limit before the resize is not the resize\'s doing', () => {
    const before = stored(app('1Gi'), { size: '1Gi' });
    const after = structuredClone(before);
    after.spec.containers[0].resources.limits.cpu = '1';
    expect(plan(before, after, { size: '1Gi', denyUnsafeShrink: true })).toMatchObject({
      action: 'unchanged', outcome: 'allow', unsafe: false, atOrAboveWriter: { limitBytes: Gi },
    });
  });
});

describe('what a way in does', () => {
  const before = stored(app('2Gi'));
  const shrink = resized(before, { app: '768Mi' });
  const grow = resized(before, { app: '4Gi' });

  test('resizeVolumes: the resize carries the new sizeLimit, and the pod then has the rule\'s size', () => {
    for (const after of [shrink, grow]) {
      const result = plan(before, after, { resizeVolumes: true, denyUnsafeShrink: true });
      expect(result).toMatchObject({ outcome: 'resize', unsafe: false });
      expect(result.warnings).toEqual([`/dev/shm follows the resize: 1Gi -> ${result.rule}`]);
      const patched = applyOps(after, resizeToPatch(result));
      expect(bytesCeil(sizeLimit(patched))).toBe(ruleFor(after));
      expect(patched.spec.volumes[0].emptyDir.medium).toBe('Memory');
    }
  });

  test('by default a growth passes with a warning naming the current size, the rule\'s, and when it changes', () => {
    const result = plan(before, grow);
    expect(result).toMatchObject({ outcome: 'allow', unsafe: false });
    expect(result.warnings).toEqual(['/dev/shm stays 1Gi until the pod is recreated; the rule gives 2Gi under the new limits']);
    expect(resizeToPatch(result)).toEqual([]);
  });

  test('by default an unsafe shrink passes with a second warning: which writer, and why it matters', () => {
    const result = plan(before, shrink);
    expect(result).toMatchObject({ outcome: 'allow', unsafe: true });
    expect(result.warnings).toEqual([
      '/dev/shm stays 1Gi until the pod is recreated; the rule gives 384Mi under the new limits',
      "/dev/shm 1Gi is at or above the new 768Mi limit of container 'app': shared memory alone can OOM-kill it",
    ]);
  });

  test('denyUnsafeShrink refuses it, saying why and what to do', () => {
    const result = plan(before, shrink, { denyUnsafeShrink: true });
    expect(result.outcome).toBe('deny');
    expect(result.denial).toContain("lowers the memory limit of container 'app' to 768Mi, at or below its /dev/shm of 1Gi");
    expect(result.denial).toContain('Keep the limit above 1Gi, recreate the pod with the new limits (the rule gives it 384Mi)');
    expect(result.denial).toContain('turn on resizeVolumes');
    // A safe shrink passes.
    expect(plan(before, resized(before, { app: '1536Mi' }), { denyUnsafeShrink: true }).outcome).toBe('allow');
  });

  test("the pod's own cdk8s-shm.io/deny-unsafe-shrink decides over the policy, both ways", () => {
    const strict = stored(app('2Gi'), {}, { 'cdk8s-shm.io/deny-unsafe-shrink': 'true' });
    expect(plan(strict, resized(strict, { app: '768Mi' })).outcome).toBe('deny');
    const lenient = stored(app('2Gi'), {}, { 'cdk8s-shm.io/deny-unsafe-shrink': 'false' });
    expect(plan(lenient, resized(lenient, { app: '768Mi' }), { denyUnsafeShrink: true }).outcome).toBe('allow');
  });

  test('resizeVolumes is the cluster\'s: a pod cannot ask for it with an annotation', () => {
    const pod = stored(app('2Gi'), {}, { 'cdk8s-shm.io/resize-volumes': 'true' });
    const result = plan(pod, resized(pod, { app: '4Gi' }));
    expect(result.plan.unhonoured.map(u => u.annotations)).toContainEqual(['cdk8s-shm.io/resize-volumes']);
    expect(result.outcome).toBe('allow');
  });

  test('never throws on what a client can send', () => {
    for (const odd of [null, {}, { spec: null }, { spec: { containers: 'x' } }, { metadata: { annotations: { [SIZE_LIMIT_ANNOTATION]: '1Gi' } }, spec: { volumes: [null] } }]) {
      expect(plan(odd, odd).action).toBe('not-ours');
    }
  });
});
