/**
 * normalizeMountPath cleans a path exactly as Go's filepath.Clean does, which is what containerd
 * and runc apply to every mount destination: a table of the cases that matter, and the planner's
 * use of it. The same and random paths against the real filepath.Clean (a Go program) are
 * test/conformance/mount-path-go.test.ts's (`npm run conformance`).
 */
import { container, template } from './fixtures';
import { MOUNT_PATH_TABLE as TABLE } from './mount-path-table';
import { normalizeMountPath, planSharedMemory, resolvePolicy } from '../../src/core';

describe('normalizeMountPath', () => {
  test.each(TABLE)('%j -> %j', (input, expected) => {
    expect(normalizeMountPath(input)).toBe(expected);
  });

  test('anything but a string has no path', () => {
    expect(normalizeMountPath(undefined)).toBeUndefined();
    expect(normalizeMountPath(42)).toBeUndefined();
    expect(normalizeMountPath(['/dev/shm'])).toBeUndefined();
  });
});

describe('the planner compares cleaned paths', () => {
  test.each(['/dev/./shm', '/dev/shm/.', '/dev/../dev/shm', '/../dev/shm'])('a user volume at %s is the pod\'s own /dev/shm: skipped', mountPath => {
    const app = { ...container('app', '4Gi'), volumeMounts: [{ name: 'mine', mountPath }] };
    const pod = template({ containers: [app], volumes: [{ name: 'mine', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }] });
    expect(planSharedMemory(pod, resolvePolicy())).toEqual(expect.objectContaining({ action: 'skip', reason: 'user-shm-mount' }));
  });
});
