/**
 * normalizeMountPath cleans a path exactly as Go's filepath.Clean does, which is what containerd
 * and runc apply to every mount destination: a table of the cases that matter, the same and random
 * paths against the real filepath.Clean (a Go program), and the planner's use of it.
 */
import fc from 'fast-check';
import { container, template } from './fixtures';
import { normalizeMountPath, planSharedMemory, resolvePolicy } from '../../src/core';
import { goProgram, runGoProgram } from '../support/go-program';

const TABLE: ReadonlyArray<readonly [string, string]> = [
  ['/dev/shm', '/dev/shm'],
  ['/dev/shm/', '/dev/shm'],
  ['/dev//shm', '/dev/shm'],
  ['//dev/shm//', '/dev/shm'],
  ['/dev/./shm', '/dev/shm'],
  ['/dev/shm/.', '/dev/shm'],
  ['/./dev/shm', '/dev/shm'],
  ['/dev/../dev/shm', '/dev/shm'],
  ['/dev/shm/x/..', '/dev/shm'],
  ['/../dev/shm', '/dev/shm'],
  ['/../../dev/./shm/', '/dev/shm'],
  ['/dev/shm/..', '/dev'],
  ['/dev/shm..', '/dev/shm..'],
  ['/dev/.shm', '/dev/.shm'],
  ['/dev/...', '/dev/...'],
  ['/', '/'],
  ['/.', '/'],
  ['/..', '/'],
  ['//', '/'],
  ['', '.'],
  ['.', '.'],
  ['./', '.'],
  ['..', '..'],
  ['../..', '../..'],
  ['../dev/shm', '../dev/shm'],
  ['a/../..', '..'],
  ['a/b/../../c', 'c'],
  ['relative/path/', 'relative/path'],
  ['dev/shm', 'dev/shm'],
];

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

describe('normalizeMountPath against Go filepath.Clean', () => {
  let clean: (paths: string[]) => string[];
  beforeAll(() => {
    const binary = goProgram('pathclean');
    clean = paths => runGoProgram<string[]>(binary, paths);
  }, 300_000);

  test('the table agrees with Go', () => {
    const inputs = TABLE.map(([input]) => input);
    expect(inputs.map(normalizeMountPath)).toEqual(clean(inputs));
  });

  test('random paths of slashes, dots and names agree with Go', () => {
    const element = fc.constantFrom('', '.', '..', '...', 'dev', 'shm', '.shm', 'a..b', 'x y', 'é');
    const paths = fc.sample(fc.tuple(fc.boolean(), fc.array(element, { maxLength: 8 }))
      .map(([rooted, parts]) => `${rooted ? '/' : ''}${parts.join('/')}`), { seed: 14, numRuns: 2000 });
    const expected = clean(paths);
    const mismatches = paths.filter((p, i) => normalizeMountPath(p) !== expected[i]).map(p => `${JSON.stringify(p)}: ${normalizeMountPath(p)} vs ${expected[paths.indexOf(p)]}`);
    expect(mismatches).toEqual([]);
  });
});

describe('the planner compares cleaned paths', () => {
  test.each(['/dev/./shm', '/dev/shm/.', '/dev/../dev/shm', '/../dev/shm'])('a user volume at %s is the pod\'s own /dev/shm: skipped', mountPath => {
    const app = { ...container('app', '4Gi'), volumeMounts: [{ name: 'mine', mountPath }] };
    const pod = template({ containers: [app], volumes: [{ name: 'mine', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }] });
    expect(planSharedMemory(pod, resolvePolicy())).toEqual(expect.objectContaining({ action: 'skip', reason: 'user-shm-mount' }));
  });
});
