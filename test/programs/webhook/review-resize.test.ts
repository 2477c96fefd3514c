/**
 * `reviewAdmission` of a resize (`UPDATE` of `pods/resize`): the answer is the core's `planResize`
 * of the stored and the resized pod, as a patch of the volume's `sizeLimit`, a refusal, or the
 * resize as it is with warnings.
 */
import { applyPatch, deepClone } from 'fast-json-patch';
import { podResizeReview as resizeReview } from './support/fixtures';
import { PolicyInput, applyOperations, planResize, planSharedMemory, planToPatch, resolvePolicy } from '../../../src/core';
import { reviewAdmission } from '../../../src/programs/webhook/review';
import { container, podObject } from '../../core/fixtures';

/** A pod as the webhook created it with `input`. */
function storedPod(limit: string, input: PolicyInput = {}, annotations: Record<string, string> = {}): any {
  const pod = podObject('p', { containers: [container('app', limit)] }, { namespace: 'ns', ...(Object.keys(annotations).length ? { annotations } : {}) });
  return applyOperations(structuredClone(pod), planToPatch(planSharedMemory(pod, resolvePolicy(input))));
}

function withLimit(pod: any, limit: string): any {
  const copy = structuredClone(pod);
  copy.spec.containers[0].resources.limits.memory = limit;
  return copy;
}

const decode = (patch?: string) => (patch === undefined ? [] : JSON.parse(Buffer.from(patch, 'base64').toString('utf8')));
const sizeLimit = (pod: any) => pod.spec.volumes.find((v: any) => v.name === 'dshm').emptyDir.sizeLimit;

describe('a resize', () => {
  test('with resizeVolumes: the patch carries the sizeLimit the core plans, and nothing else', () => {
    const stored = storedPod('1Gi');
    const resized = withLimit(stored, '2Gi');
    const policy = resolvePolicy({ resizeVolumes: true });
    const result = reviewAdmission(resizeReview(stored, resized), policy);
    expect(result).toMatchObject({ outcome: 'resize', reason: 'follow', pod: 'ns/p' });
    const response = result.review!.response;
    expect(response).toMatchObject({ uid: 'r1', allowed: true, patchType: 'JSONPatch' });
    const after = applyPatch(deepClone(resized), decode(response.patch)).newDocument;
    expect(sizeLimit(after)).toBe(planResize(stored, resized, policy).rule);
    expect(sizeLimit(after)).toBe('1Gi');
    // Only the volume's sizeLimit changes: the rest is what the API server drops anyway.
    after.spec.volumes[0].emptyDir.sizeLimit = sizeLimit(resized);
    expect(after).toEqual(resized);
    expect(response.warnings).toEqual(['cdk8s-shm: /dev/shm follows the resize: 512Mi -> 1Gi']);
  });

  test('without resizeVolumes: allowed unchanged, and the warning names the current size, the rule and recreation', () => {
    const stored = storedPod('2Gi');
    const result = reviewAdmission(resizeReview(stored, withLimit(stored, '1536Mi')), resolvePolicy({}));
    expect(result).toMatchObject({ outcome: 'resize', reason: 'follow' });
    expect(result.review!.response.patch).toBeUndefined();
    expect(result.review!.response.allowed).toBe(true);
    expect(result.review!.response.warnings).toEqual(['cdk8s-shm: /dev/shm stays 1Gi until the pod is recreated; the rule gives 768Mi under the new limits']);
  });

  test('a dangerous shrink: warned about by default, refused with denyUnsafeShrink (flag or annotation) with why and what to do', () => {
    const stored = storedPod('2Gi');
    const resized = withLimit(stored, '768Mi');
    const warned = reviewAdmission(resizeReview(stored, resized), resolvePolicy({}));
    expect(warned.review!.response.allowed).toBe(true);
    expect(warned.review!.response.warnings).toContainEqual(expect.stringContaining("/dev/shm 1Gi is at or above the new 768Mi limit of container 'app'"));

    for (const [input, annotations] of [[{ denyUnsafeShrink: true }, {}], [{}, { 'cdk8s-shm.io/deny-unsafe-shrink': 'true' }]] as const) {
      const s = storedPod('2Gi', input, annotations);
      const denied = reviewAdmission(resizeReview(s, withLimit(s, '768Mi')), resolvePolicy(input));
      expect(denied).toMatchObject({ outcome: 'deny', reason: 'unsafe-shrink' });
      expect(denied.review!.response.allowed).toBe(false);
      expect(denied.review!.response.status).toMatchObject({ code: 403, reason: 'Forbidden' });
      expect(denied.review!.response.status!.message).toMatch(/^cdk8s-shm: the resize lowers the memory limit of container 'app' to 768Mi, at or below its \/dev\/shm of 1Gi.*Keep the limit above 1Gi, recreate the pod/);
    }
    // With the volume following, the same shrink is safe: resized, not refused.
    const s = storedPod('2Gi', { denyUnsafeShrink: true });
    expect(reviewAdmission(resizeReview(s, withLimit(s, '768Mi')), resolvePolicy({ denyUnsafeShrink: true, resizeVolumes: true })).outcome).toBe('resize');
  });

  test('a pod without our /dev/shm, and a CPU-only resize, pass quietly', () => {
    const bare = podObject('p', { containers: [container('app', '1Gi')] });
    const plain = reviewAdmission(resizeReview(bare, withLimit(bare, '2Gi')), resolvePolicy({ resizeVolumes: true }));
    expect(plain).toMatchObject({ outcome: 'resize', reason: 'not-ours' });
    expect(plain.review!.response).toEqual({ uid: 'r1', allowed: true });
    const stored = storedPod('1Gi');
    const cpu = structuredClone(stored);
    cpu.spec.containers[0].resources.limits.cpu = '2';
    expect(reviewAdmission(resizeReview(stored, cpu), resolvePolicy({ resizeVolumes: true })).review!.response).toEqual({ uid: 'r1', allowed: true });
  });

  test('a resize it cannot read is allowed, never refused or crashed on', () => {
    for (const [object, oldObject] of [[undefined, undefined], ['x', 7], [{ spec: { containers: 'no' } }, { spec: null }]]) {
      const review = resizeReview(oldObject, object);
      const result = reviewAdmission(review, resolvePolicy({ resizeVolumes: true, denyUnsafeShrink: true }));
      expect(result.httpStatus).toBe(200);
      expect(result.review!.response).toEqual({ uid: 'r1', allowed: true });
    }
  });

  test('another subresource is still ignored', () => {
    const stored = storedPod('1Gi');
    const review = resizeReview(stored, stored);
    review.request.subResource = 'status';
    expect(reviewAdmission(review, resolvePolicy({})).reason).toBe('subresource');
  });
});
