import { applyOps, container, template } from './fixtures';
import { applyOperations, normalizeMountPath, planSharedMemory, planToPatch, resolvePolicy, setAnnotationOps } from '../../src/core';

describe('planSharedMemory: pods nothing may change', () => {
  test('a mirror pod (the API copy of a static pod) is skipped, whatever else it carries', () => {
    const pod = template({ containers: [container('app', '4Gi')] }, { 'kubernetes.io/config.mirror': 'a1b2c3' });
    const result = planSharedMemory(pod, resolvePolicy());
    expect(result).toEqual(expect.objectContaining({ action: 'skip', reason: 'mirror-pod' }));
    expect(planToPatch(result)).toEqual([]);
  });

  test('a share that rounds down to zero bytes keeps the runtime default (a sizeLimit of 0 would mean "no limit")', () => {
    const pod = template({ containers: [container('app', '1')] }, { 'cdk8s-shm.io/ratio': '0.5' });
    const result = planSharedMemory(pod, resolvePolicy());
    expect(result).toEqual(expect.objectContaining({ action: 'skip', reason: 'below-runtime-default' }));
    expect(result.message).toMatch(/^0 from the ratio is below the runtime's default 64Mi/);
    expect(planToPatch(result)).toEqual([]);
  });

  test('with a minimum, a one-byte limit and ratio 1 still get a one-byte /dev/shm', () => {
    const result = planSharedMemory(template({ containers: [container('app', '1')] }), resolvePolicy({ ratio: 1, minimum: '1' }));
    expect(result).toEqual(expect.objectContaining({ action: 'inject', size: '1' }));
  });
});

describe('normalizeMountPath', () => {
  test.each([
    ['/dev/shm', '/dev/shm'],
    ['/dev/shm/', '/dev/shm'],
    ['/dev//shm', '/dev/shm'],
    ['//dev/shm//', '/dev/shm'],
    ['/', '/'],
    ['relative/path/', 'relative/path'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeMountPath(input)).toBe(expected);
  });

  test('anything but a string has no path', () => {
    expect(normalizeMountPath(undefined)).toBeUndefined();
    expect(normalizeMountPath(42)).toBeUndefined();
  });
});

describe('setAnnotationOps', () => {
  const key = 'example.com/a~b';
  test.each([
    ['no metadata', { spec: {} }, undefined],
    ['metadata without annotations', { metadata: { name: 'x' }, spec: {} }, undefined],
    ['null annotations', { metadata: { annotations: null }, spec: {} }, undefined],
    ['other annotations', { metadata: { annotations: { other: '1' } }, spec: {} }, { other: '1' }],
    ['a different value', { metadata: { annotations: { [key]: 'old' } }, spec: {} }, {}],
  ])('%s: the annotation is set and nothing else is lost', (_label, pod: any, others) => {
    const ops = setAnnotationOps(pod.metadata, '', key, 'new');
    expect(ops).toHaveLength(1);
    const patched = applyOps(pod, ops);
    expect(patched.metadata.annotations).toEqual({ ...(others ?? {}), [key]: 'new' });
    expect(setAnnotationOps(patched.metadata, '', key, 'new')).toEqual([]);
  });

  test('the key is escaped in the pointer (RFC 6901)', () => {
    expect(setAnnotationOps({ annotations: {} }, '/spec/template', key, 'v'))
      .toEqual([{ op: 'add', path: '/spec/template/metadata/annotations/example.com~1a~0b', value: 'v' }]);
  });
});

describe('applyOperations refuses what RFC 6902 refuses', () => {
  test.each([
    ['a missing parent', { a: {} }, { op: 'add', path: '/b/c', value: 1 }, 'cannot add /b/c: no parent'],
    ['an index past the end', { a: [1] }, { op: 'add', path: '/a/2', value: 1 }, 'cannot add /a/2: index out of range'],
    ['replace past the end', { a: [1] }, { op: 'replace', path: '/a/1', value: 1 }, 'cannot replace /a/1: index out of range'],
    ['replace of a missing member', { a: {} }, { op: 'replace', path: '/a/b', value: 1 }, 'cannot replace /a/b: no such member'],
  ] as const)('%s', (_label, document, op, message) => {
    expect(() => applyOperations(JSON.parse(JSON.stringify(document)), [op as any])).toThrow(message);
  });
});

test('resolvePolicy refuses a fixed size the mode would ignore', () => {
  expect(() => resolvePolicy({ fixedSize: '1Gi' })).toThrow("'fixedSize' (1Gi) is only used when 'podsWithoutLimit' is 'fixed' (it is 'skip')");
  expect(() => resolvePolicy({ podsWithoutLimit: 'deny', fixedSize: '1Gi' })).toThrow("(it is 'deny')");
});
