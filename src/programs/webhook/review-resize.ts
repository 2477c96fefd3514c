/**
 * A resize of a pod (`UPDATE` of the `pods/resize` subresource), as the webhook answers it: the
 * core's `planResize` of the stored pod (`oldObject`) and the resized one (`object`), as an answer.
 *
 * The API server sends the whole pod both ways, and keeps from a webhook's patch only what a
 * resize may change (the containers' resources and resize policies, the pod-level resources, and
 * `spec.volumes` where `InPlacePodVerticalScalingMemoryBackedVolumes` is on: strategy.go
 * dropNonResizeUpdates). So the answer is the new `sizeLimit` (`resizeVolumes`), a refusal
 * (`denyUnsafeShrink`), or the resize as it is, with warnings that say what `/dev/shm` keeps.
 */
import { JsonObject, JsonPatchOperation, Policy, ResizePlan, objectAt, planResize, resizeToPatch } from '../../core';

/** The subresource a resize arrives through. */
export const RESIZE_SUBRESOURCE = 'resize';

/** What the answer to a resize says, in the review result's terms (review.ts builds the envelope). */
export interface ResizeAnswer {
  readonly allowed: boolean;
  readonly warnings: readonly string[];
  readonly patch?: readonly JsonPatchOperation[];
  /** The refusal's message, when not allowed. */
  readonly denial?: string;
  readonly resize: ResizePlan;
}

/** Whether a request is a pod's resize. */
export function isResize(request: JsonObject): boolean {
  return request.operation === 'UPDATE' && request.subResource === RESIZE_SUBRESOURCE;
}

/**
 * The core's decision about a resize.
 * @param request the AdmissionReview's request (`object`: the pod as resized, `oldObject`: as stored)
 */
export function answerResize(request: JsonObject, policy: Policy): ResizeAnswer {
  const resize = planResize(objectAt(request.oldObject) ?? {}, objectAt(request.object) ?? {}, policy);
  const patch = resizeToPatch(resize);
  return {
    allowed: resize.outcome !== 'deny',
    warnings: resize.warnings,
    ...(patch.length > 0 ? { patch } : {}),
    ...(resize.denial ? { denial: resize.denial } : {}),
    resize,
  };
}
