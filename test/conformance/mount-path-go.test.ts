/**
 * normalizeMountPath against the real Go filepath.Clean (test/support/go/pathclean), which
 * containerd and runc apply to every mount destination: the table of test/core/mount-path.test.ts
 * and random paths of slashes, dots and names. Needs Go: `npm run conformance`.
 */
import fc from 'fast-check';
import { normalizeMountPath } from '../../src/core';
import { MOUNT_PATH_TABLE as TABLE } from '../core/mount-path-table';
import { goProgram, runGoProgram } from '../support/go-program';

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
