/**
 * Builders and helpers shared by the core tests: complete, schema-valid pods and containers, and
 * the RFC 6902 application of a patch with the standard `fast-json-patch` library.
 */
import { Operation, applyPatch, deepClone } from 'fast-json-patch';
import { JsonPatchOperation, applyOperations } from '../../src/core';

export const Ki = 2n ** 10n;
export const Mi = 2n ** 20n;
export const Gi = 2n ** 30n;

export type Json = any;

/** A container with an image; `memory` undefined means no memory limit. */
export function container(name: string, memory?: string, extra: Record<string, unknown> = {}): Json {
  return {
    name,
    image: 'registry.k8s.io/pause:3.9',
    ...(memory === undefined ? {} : { resources: { limits: { memory } } }),
    ...extra,
  };
}

/** A sidecar: an init container with `restartPolicy: Always`. */
export function sidecar(name: string, memory?: string, extra: Record<string, unknown> = {}): Json {
  return container(name, memory, { restartPolicy: 'Always', ...extra });
}

/** A mount of `volume` at `mountPath`. */
export function mount(volume: string, mountPath: string): Json {
  return { name: volume, mountPath };
}

/** A complete Pod object. */
export function podObject(name: string, spec: Json, metadata: Json = {}): Json {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, ...metadata }, spec };
}

/** A pod template (`metadata` and `spec`), optionally annotated. */
export function template(spec: Json, annotations?: Record<string, unknown>): Json {
  return annotations === undefined ? { spec } : { metadata: { annotations }, spec };
}

/**
 * Applies a patch as the API server would: to a deep copy, validating every operation (a path
 * whose parent is missing, or a `replace` of a missing member, throws).
 */
export function applyOps<T>(document: T, ops: readonly JsonPatchOperation[]): T {
  const copy = deepClone(document) as T;
  const result = applyPatch(copy, ops as unknown as Operation[], true, true).newDocument;
  // The core's own applier (used at synthesis) must agree with the standard library on every patch.
  expect(applyOperations(deepClone(document), ops)).toEqual(result);
  return result;
}

/** The value at a JSON Pointer, or undefined. */
export function at(document: Json, pointer: string): Json {
  let node = document;
  for (const token of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = node[token.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

/** A copy of `document` with `value` at `pointer` (the parent must exist); `''` replaces the whole document. */
export function withValue(document: Json, pointer: string, value: unknown): Json {
  if (pointer === '') return value;
  const copy = deepClone(document);
  const tokens = pointer.split('/').slice(1).map(t => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = tokens.pop()!;
  const parent = at(copy, tokens.map(t => `/${t.replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''));
  parent[last] = value;
  return copy;
}
