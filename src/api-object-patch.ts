import { ApiObject, JsonPatch } from 'cdk8s';
import { JsonPatchOperation } from './core';

/**
 * Adds RFC 6902 operations written for Kubernetes JSON to an ApiObject, whatever class renders it.
 *
 * A plain ApiObject (`Include`, `Helm`, `new ApiObject`) applies patches to Kubernetes JSON.
 * Generated (L1) classes, cdk8s-plus's among them, apply patches *before* converting to Kubernetes
 * JSON, to their typed form, where the pod's `hostIPC` is spelled `hostIpc`; a patch written for
 * Kubernetes JSON would silently lose it there. (The node agent writes nothing else that differs.)
 */
export function addPatchOperations(apiObject: ApiObject, ops: readonly JsonPatchOperation[]): void {
  if (ops.length === 0) return;
  const typed = apiObject.toJson !== ApiObject.prototype.toJson;
  apiObject.addJsonPatch(...ops.map(op => {
    const path = typed ? op.path.replace(/\/hostIPC$/, '/hostIpc') : op.path;
    return op.op === 'add' ? JsonPatch.add(path, op.value) : JsonPatch.replace(path, op.value);
  }));
}
