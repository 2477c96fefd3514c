import { ApiObject, JsonPatch } from 'cdk8s';
import { JsonPatchOperation } from './core';

/**
 * Adds the core's RFC 6902 operations to an ApiObject, whatever class renders it.
 *
 * A plain ApiObject (`Include`, `Helm`, `new ApiObject`) applies patches to Kubernetes JSON.
 * Generated (L1) classes, cdk8s-plus's among them, apply patches *before* converting to Kubernetes
 * JSON, to their typed form, where a quantity is `{ value: '2Gi' }` and `hostIPC` is spelled
 * `hostIpc`; a patch written for Kubernetes JSON would silently lose those fields there.
 */
export function addPatchOperations(apiObject: ApiObject, ops: readonly JsonPatchOperation[]): void {
  if (ops.length === 0) return;
  const typed = apiObject.toJson !== ApiObject.prototype.toJson;
  apiObject.addJsonPatch(...ops.map(op => {
    const converted = typed ? toTypedForm(op) : op;
    return converted.op === 'add' ? JsonPatch.add(converted.path, converted.value) : JsonPatch.replace(converted.path, converted.value);
  }));
}

/** The only typed fields we write: `emptyDir.sizeLimit` (in a new volume or alone) and `hostIPC`. */
function toTypedForm(op: JsonPatchOperation): JsonPatchOperation {
  const wrapVolume = (volume: any) => volume?.emptyDir?.sizeLimit === undefined
    ? volume
    : { ...volume, emptyDir: { ...volume.emptyDir, sizeLimit: { value: volume.emptyDir.sizeLimit } } };
  if (op.path.endsWith('/hostIPC')) return { ...op, path: op.path.replace(/\/hostIPC$/, '/hostIpc') };
  if (op.path.endsWith('/emptyDir/sizeLimit')) return { ...op, value: { value: op.value } };
  if (op.path.endsWith('/volumes')) return { ...op, value: (op.value as unknown[]).map(wrapVolume) };
  if (op.path.endsWith('/volumes/-')) return { ...op, value: wrapVolume(op.value) };
  return op;
}
