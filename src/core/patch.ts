/**
 * A plan as an RFC 6902 JSON patch. The admission webhook returns it, the CLI and
 * `SharedMemory.applyToChart` apply it; all three therefore change pods identically.
 *
 * The API server rejects a patch that does not apply, even under `failurePolicy: Ignore`, so every
 * parent is created before a child is added to it (`add /spec/volumes/-` fails on a pod without
 * `volumes`).
 */
import { isObject, objectAt } from './json';
import { SHM_MOUNT_PATH } from './names';
import { AnnotationEdit, ShmPlan } from './plan';

/** One RFC 6902 operation. We only ever emit `add` and `replace`. */
export interface JsonPatchOperation {
  readonly op: 'add' | 'replace';
  readonly path: string;
  readonly value: unknown;
}

/** Escapes one JSON Pointer reference token (RFC 6901): `~` → `~0`, `/` → `~1`. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Splits a JSON Pointer into its unescaped reference tokens (RFC 6901); `''` is the whole document. */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`'${pointer}' is not a JSON Pointer`);
  const tokens = pointer.slice(1).split('/');
  // Most pointers escape nothing; this runs for every operation of every synthesis.
  return pointer.includes('~') ? tokens.map(t => t.replace(/~1/g, '/').replace(/~0/g, '~')) : tokens;
}

/**
 * The operations that carry out a plan.
 * @param plan the plan for the pod
 * @param basePath JSON Pointer of the pod (template) inside the document: `''` for a Pod,
 *   `/spec/template` for a Deployment, `/spec/jobTemplate/spec/template` for a CronJob
 * @returns no operations unless the plan is `inject` or `update`
 */
export function planToPatch(plan: ShmPlan, basePath = ''): JsonPatchOperation[] {
  const edits = plan.edits;
  if (!edits || (plan.action !== 'inject' && plan.action !== 'update') || plan.size === undefined) return [];
  const ops: JsonPatchOperation[] = [];
  const spec = `${basePath}/spec`;

  ops.push(...annotationOps(edits.createMetadata, edits.createAnnotations, basePath, edits.annotations));

  if (edits.volume === 'add') {
    const volume = { name: plan.volumeName, emptyDir: { medium: 'Memory', sizeLimit: plan.size } };
    ops.push(edits.createVolumes
      ? { op: 'add', path: `${spec}/volumes`, value: [volume] }
      : { op: 'add', path: `${spec}/volumes/-`, value: volume });
  } else if (edits.volume === 'resize') {
    ops.push({ op: edits.sizeLimitMissing ? 'add' : 'replace', path: `${spec}/volumes/${edits.volumeIndex}/emptyDir/sizeLimit`, value: plan.size });
  }

  for (const mount of edits.mounts) {
    const options = edits.mountOptions.length > 0 ? { bindMountOptions: [...edits.mountOptions] } : {};
    const mountValue = { name: plan.volumeName, mountPath: SHM_MOUNT_PATH, ...options };
    const container = `${spec}/${mount.field}/${mount.index}`;
    ops.push(mount.createList
      ? { op: 'add', path: `${container}/volumeMounts`, value: [mountValue] }
      : { op: 'add', path: `${container}/volumeMounts/-`, value: mountValue });
  }

  for (const harden of edits.hardenMounts) {
    const path = `${spec}/${harden.field}/${harden.index}/volumeMounts/${harden.mountIndex}/bindMountOptions`;
    ops.push({ op: harden.hasOptions ? 'replace' : 'add', path, value: [...harden.options] });
  }

  // limitFollows: the limits (and requests) are there, and only their values change.
  for (const resource of edits.resources) {
    const owner = resource.at === 'pod' ? spec : `${spec}/${resource.at.field}/${resource.at.index}`;
    ops.push({ op: 'replace', path: `${owner}/resources/${resource.kind}/memory`, value: resource.value });
  }
  return ops;
}

/**
 * Sets one annotation on a pod or pod template, creating `metadata` and `annotations` first when
 * they are absent.
 * @returns no operation when the annotation already has that value
 */
export function setAnnotationOps(metadata: unknown, basePath: string, key: string, value: string): JsonPatchOperation[] {
  const annotations = objectAt(objectAt(metadata)?.annotations);
  if (annotations?.[key] === value) return [];
  return annotationOps(!isObject(metadata), annotations === undefined, basePath, [{ key, value, exists: annotations?.[key] !== undefined }]);
}

/** Sets annotations: one `add` of the whole map when `metadata` or `annotations` is missing, else one operation each. */
function annotationOps(
  createMetadata: boolean, createAnnotations: boolean, basePath: string, edits: readonly AnnotationEdit[],
): JsonPatchOperation[] {
  if (edits.length === 0) return [];
  const all = () => Object.fromEntries(edits.map(e => [e.key, e.value]));
  if (createMetadata) return [{ op: 'add', path: `${basePath}/metadata`, value: { annotations: all() } }];
  if (createAnnotations) return [{ op: 'add', path: `${basePath}/metadata/annotations`, value: all() }];
  return edits.map(e => ({ op: e.exists ? 'replace' : 'add', path: `${basePath}/metadata/annotations/${escapePointerToken(e.key)}`, value: e.value }));
}

/**
 * Applies `add` and `replace` operations (all the core emits) to a document, in place, with RFC
 * 6902 semantics: the parent must exist, `-` appends, an array index inserts (`add`) or
 * overwrites (`replace`). The tests hold it to `fast-json-patch` on every patch they check; it
 * exists so that synthesis does not pay for a general library's deep copies of every operation.
 * @throws Error naming the path when a parent is missing
 */
export function applyOperations<T>(document: T, ops: readonly JsonPatchOperation[]): T {
  for (const op of ops) {
    const tokens = pointerTokens(op.path);
    const key = tokens.pop();
    let parent: any = document;
    for (const token of tokens) {
      parent = parent !== null && typeof parent === 'object' ? parent[token] : undefined;
    }
    if (key === undefined || parent === null || typeof parent !== 'object') throw new Error(`cannot ${op.op} ${op.path}: no parent`);
    if (Array.isArray(parent)) {
      const index = key === '-' ? parent.length : Number(key);
      if (!Number.isInteger(index) || index < 0 || index > parent.length || (op.op === 'replace' && index === parent.length)) {
        throw new Error(`cannot ${op.op} ${op.path}: index out of range`);
      }
      if (op.op === 'add') parent.splice(index, 0, op.value);
      else parent[index] = op.value;
    } else {
      if (op.op === 'replace' && !Object.prototype.hasOwnProperty.call(parent, key)) throw new Error(`cannot replace ${op.path}: no such member`);
      parent[key] = op.value;
    }
  }
  return document;
}
