/**
 * Packs packages/cdk8s-shm-plus-28 (compiled by `npx projen compile`) as npm will publish it:
 *
 *   npx ts-node --project scripts/tsconfig.json scripts/pack-plus-28.ts OUT_DIR
 *
 * It is released with cdk8s-shm, so it takes the version in the repository's package.json (the version
 * being released during `npx projen release`, 0.0.0 otherwise) and asks for that cdk8s-shm as a peer.
 * The committed manifest is left as it is: the package is staged in a temporary directory with the
 * repository's LICENSE.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const REPO = path.join(__dirname, '..');
const PACKAGE = path.join(REPO, 'packages', 'cdk8s-shm-plus-28');

/** The manifest to publish: the committed one, with the version being built. */
export function releaseManifest(manifest: any, version: string): any {
  return { ...manifest, version, peerDependencies: { ...manifest.peerDependencies, 'cdk8s-shm': `^${version}` } };
}

/** Packs the package into `outdir`; returns the tarball's path. */
export function packPlus28(outdir: string): string {
  if (!fs.existsSync(path.join(PACKAGE, 'lib', 'index.js'))) throw new Error(`${PACKAGE}/lib is not built: run npx projen compile`);
  const version = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;
  const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'));
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-plus-28-'));
  try {
    fs.cpSync(path.join(PACKAGE, 'lib'), path.join(stage, 'lib'), { recursive: true });
    fs.copyFileSync(path.join(PACKAGE, 'README.md'), path.join(stage, 'README.md'));
    fs.copyFileSync(path.join(REPO, 'LICENSE'), path.join(stage, 'LICENSE'));
    fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(releaseManifest(manifest, version), null, 2) + '\n');
    fs.mkdirSync(outdir, { recursive: true });
    const name = execFileSync('npm', ['pack', stage, '--pack-destination', path.resolve(outdir), '--loglevel=error'], { encoding: 'utf8' })
      .trim().split('\n').pop()!;
    return path.join(path.resolve(outdir), name);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [outdir] = process.argv.slice(2);
  if (!outdir) throw new Error('usage: pack-plus-28.ts OUT_DIR');
  console.log(packPlus28(outdir));
}
