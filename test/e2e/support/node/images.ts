/**
 * The node's images, built here from what the machine has: no registry is reachable. One layer
 * holds Debian's busybox-static (every applet linked into /bin), `shmtool` and `pause` (compiled
 * statically from the C files next to this one) and the machine's own `node` binary with the shared
 * libraries it links (the webhook and the CSI plugin run as the npm package ships them: a bundle in
 * a ConfigMap run by `node`). Two images share that layer:
 *
 * - `IMAGES.node`: PATH has node and busybox, the default command is `sh`; every container of the
 *   tests runs it, the constructs' own image references mapped to it (`mapImages`);
 * - `IMAGES.pause`: the pod sandbox (containerd's `sandbox_image`).
 *
 * Each is written as a docker-archive and imported with `ctr` into containerd's `k8s.io`
 * namespace; pods use `imagePullPolicy: Never`.
 */
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { runOrThrow } from '../process-group';

export const IMAGES = {
  node: 'localhost/cdk8s-shm-e2e/node:1',
  pause: 'localhost/cdk8s-shm-e2e/pause:1',
} as const;

/** The sources compiled into the image. */
const C_PROGRAMS = ['shmtool', 'pause'] as const;

/** The file Debian's busybox-static installs. */
function busyboxBinary(): string {
  const file = runOrThrow('dpkg', ['-L', 'busybox-static']).split('\n').find(line => /\/bin\/busybox$/.test(line));
  if (!file) throw new Error('busybox-static is not installed (e2e/node/packages.sh installs it)');
  return file;
}

/** `node` and every shared library it links, at their paths on the machine. */
function nodeFiles(): string[] {
  const node = fs.realpathSync(process.execPath);
  const libraries = runOrThrow('ldd', [node]).split('\n').flatMap(line => {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    return match ? [match[1]] : [];
  });
  return [node, ...libraries];
}

/** Copies a file into the root file system at the same path, its symlinks resolved. */
function copyInto(rootfs: string, file: string, at = file): void {
  const target = path.join(rootfs, at);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(fs.realpathSync(file), target);
  fs.chmodSync(target, fs.statSync(file).mode % 0o1000);
}

function buildRootfs(dir: string): string {
  const rootfs = path.join(dir, 'rootfs');
  fs.rmSync(rootfs, { recursive: true, force: true });
  for (const d of ['bin', 'dev/shm', 'proc', 'sys', 'etc', 'tmp', 'usr/local/bin', 'var/run']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  copyInto(rootfs, busyboxBinary(), '/bin/busybox');
  for (const applet of runOrThrow(path.join(rootfs, 'bin', 'busybox'), ['--list']).split('\n').filter(Boolean)) {
    if (applet !== 'busybox') fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  }
  for (const program of C_PROGRAMS) {
    const output = path.join(dir, program);
    runOrThrow('gcc', ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', output, path.join(__dirname, `${program}.c`)]);
    copyInto(rootfs, output, program === 'pause' ? '/pause' : `/bin/${program}`);
  }
  const [node, ...libraries] = nodeFiles();
  copyInto(rootfs, node, '/usr/local/bin/node');
  for (const library of libraries) copyInto(rootfs, library);
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  fs.writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\n');
  return rootfs;
}

/** A docker-archive (manifest.json, the config, the layer) of one image on `layer`. */
function writeArchive(dir: string, layer: string, diffId: string, name: string, config: Record<string, unknown>): string {
  const work = fs.mkdtempSync(path.join(dir, 'archive-'));
  const configJson = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    // Not root unless a pod says so: containers that ask for runAsNonRoot (cdk8s-plus's default) run.
    config: { Env: ['PATH=/usr/local/bin:/bin'], WorkingDir: '/', User: '65534', ...config },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
    history: [{ created_by: 'cdk8s-shm e2e: test/e2e/support/node/images.ts' }],
  });
  const configName = `${crypto.createHash('sha256').update(configJson).digest('hex')}.json`;
  fs.writeFileSync(path.join(work, configName), configJson);
  fs.writeFileSync(path.join(work, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [name], Layers: ['layer.tar'] }]));
  fs.linkSync(layer, path.join(work, 'layer.tar'));
  const archive = path.join(dir, `${name.replace(/[^a-z0-9]+/g, '-')}.tar`);
  runOrThrow('tar', ['-C', work, '-cf', archive, 'manifest.json', configName, 'layer.tar']);
  fs.rmSync(work, { recursive: true, force: true });
  return archive;
}

/** Builds both images and imports them into containerd at `address`. */
export function buildAndImportImages(dir: string, address: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const rootfs = buildRootfs(dir);
  const layer = path.join(dir, 'layer.tar');
  runOrThrow('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-cf', layer, '.']);
  const diffId = crypto.createHash('sha256').update(fs.readFileSync(layer)).digest('hex');
  const archives = [
    writeArchive(dir, layer, diffId, IMAGES.node, { Cmd: ['sh'] }),
    writeArchive(dir, layer, diffId, IMAGES.pause, { Entrypoint: ['/pause'] }),
  ];
  for (const archive of archives) execFileSync('ctr', ['-a', address, '-n', 'k8s.io', 'images', 'import', archive], { stdio: 'ignore' });
  fs.rmSync(rootfs, { recursive: true, force: true });
}

/**
 * A copy of objects with every container image replaced by the node image and pulled `Never`: the
 * only change the tests make to what a way in produced (plus the node's own `testChanges`).
 */
export function mapImages<T>(objects: T): T {
  const copy = structuredClone(objects);
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (typeof record.image === 'string' && typeof record.name === 'string') {
        record.image = IMAGES.node;
        record.imagePullPolicy = 'Never';
      }
      Object.values(record).forEach(visit);
    }
  };
  visit(copy);
  return copy;
}
