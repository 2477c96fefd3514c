/**
 * cdk8s-shm-plus-28 as npm will publish it (scripts/pack-plus-28.ts, which `package` runs): its
 * compiled SharedMemoryDeployment and nothing of the repository, the release's version for itself and
 * for the cdk8s-shm it asks for, and every `require` declared. test/compat installs it in a
 * cdk8s-plus-28 app; test/constructs/sizing/shared-memory.test.ts tests what it synthesizes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packPlus28, releaseManifest } from '../../scripts/pack-plus-28';
import { Unpacked, unpack, unresolvedRequires } from '../support/tarball';

jest.setTimeout(120_000);

const REPO = path.join(__dirname, '..', '..');
let packed: Unpacked;

beforeAll(() => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-plus-28-pack-'));
  packed = unpack(packPlus28(root), root);
});

test('the tarball holds the compiled construct, its declarations, the README and the licence, and nothing else', () => {
  expect(packed.files).toEqual([
    'LICENSE', 'README.md', 'lib/index.d.ts', 'lib/index.js', 'lib/shared-memory-deployment.d.ts', 'lib/shared-memory-deployment.js', 'package.json',
  ]);
  expect(fs.readFileSync(path.join(packed.dir, 'LICENSE'), 'utf8')).toEqual(fs.readFileSync(path.join(REPO, 'LICENSE'), 'utf8'));
  // The declarations name the library by its package name, as the app installs it.
  expect(fs.readFileSync(path.join(packed.dir, 'lib', 'shared-memory-deployment.d.ts'), 'utf8')).toContain("from 'cdk8s-shm'");
});

test('it is versioned with cdk8s-shm and asks for the same cdk8s-shm, cdk8s-plus-28 and the library\'s floors', () => {
  const library = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  expect(packed.manifest).toMatchObject({
    name: 'cdk8s-shm-plus-28',
    version: library.version,
    license: library.license,
    main: 'lib/index.js',
    types: 'lib/index.d.ts',
    peerDependencies: {
      'cdk8s-shm': `^${library.version}`,
      'cdk8s': library.peerDependencies.cdk8s,
      'constructs': library.peerDependencies.constructs,
      'cdk8s-plus-28': expect.stringMatching(/^\^2\./),
    },
  });
  expect(packed.manifest.dependencies).toBeUndefined();
  expect(unresolvedRequires(packed)).toEqual([]);
});

test('a release writes its version into the manifest and the peer dependency on cdk8s-shm, and nothing else', () => {
  const committed = JSON.parse(fs.readFileSync(path.join(REPO, 'packages', 'cdk8s-shm-plus-28', 'package.json'), 'utf8'));
  const released = releaseManifest(committed, '1.4.2');
  expect(released.version).toBe('1.4.2');
  expect(released.peerDependencies).toEqual({ ...committed.peerDependencies, 'cdk8s-shm': '^1.4.2' });
  expect({ ...released, version: committed.version, peerDependencies: committed.peerDependencies }).toEqual(committed);
});
