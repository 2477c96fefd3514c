/**
 * What the node changes on the machine, and how the run takes it back: a cgroup root of its own in
 * every cgroup v1 hierarchy (the kubelet's `cgroupRoot`; it refuses to start unless it exists),
 * and the mounts under the run's directory (the kubelet's root, emptyDir tmpfs, pod volumes,
 * container root file systems, sandbox network namespaces). Nothing else on the machine is
 * touched; `leftovers()` says what a run left behind, for the teardown's last check.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const CGROUP_MOUNT = '/sys/fs/cgroup';

/** The cgroup v1 hierarchies mounted on this machine (cpu, memory, ..., name=systemd). */
function hierarchies(): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').flatMap(line => {
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    return separator > 0 && fields[separator + 1] === 'cgroup' && fields[4].startsWith(`${CGROUP_MOUNT}/`) ? [fields[4]] : [];
  });
}

/** Creates `/NAME` in every hierarchy; a new cpuset gets its parent's cpus and memory nodes, or no task could join it. */
export function createCgroupRoot(name: string): void {
  for (const hierarchy of hierarchies()) {
    const dir = path.join(hierarchy, name);
    fs.mkdirSync(dir, { recursive: true });
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const own = path.join(dir, file);
      if (fs.existsSync(own) && fs.readFileSync(own, 'utf8').trim() === '') fs.writeFileSync(own, fs.readFileSync(path.join(hierarchy, file)));
    }
  }
}

/** Removes `/NAME` and everything under it, deepest first (a cgroup goes only once it has no tasks). */
export function removeCgroupRoot(name: string): void {
  for (const hierarchy of hierarchies()) {
    const root = path.join(hierarchy, name);
    if (!fs.existsSync(root)) continue;
    const dirs: string[] = [];
    const walk = (dir: string) => {
      dirs.push(dir);
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(path.join(dir, entry.name));
    };
    walk(root);
    for (const dir of dirs.reverse()) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // Still has tasks: leftovers() reports it.
      }
    }
  }
}

/** The mount points under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.replace(/\/+$/, '');
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map(line => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === prefix || point.startsWith(`${prefix}/`)))
    .map(point => point.replace(/\\040/g, ' '))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts everything under `dir` (lazily, so a busy mount cannot stop the teardown). */
export function unmountUnder(dir: string): void {
  for (let pass = 0; pass < 5; pass++) {
    const points = mountsUnder(dir);
    if (points.length === 0) return;
    for (const point of points) spawnSync('umount', ['-l', point], { stdio: 'ignore' });
  }
}

/** Removes a directory without ever crossing into another file system (a mount that survived). */
export function removeTree(dir: string): void {
  unmountUnder(dir);
  spawnSync('rm', ['-rf', '--one-file-system', dir], { stdio: 'ignore' });
}

/** What a run left on the machine: mounts under its directory and its cgroup root. */
export function leftovers(dir: string, cgroupName: string): string[] {
  return [
    ...mountsUnder(dir).map(point => `mount ${point}`),
    ...hierarchies().map(h => path.join(h, cgroupName)).filter(d => fs.existsSync(d)).map(d => `cgroup ${d}`),
  ];
}
