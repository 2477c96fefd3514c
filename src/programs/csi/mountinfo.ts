/**
 * `/proc/self/mountinfo` as data: the plugin keeps no state of its own, the kernel's mount table is
 * the state (which targets are published, whether the domain is mounted), so a restarted plugin
 * knows exactly what its predecessor did. Pure: the caller reads the file.
 *
 * A line (proc(5)):
 *
 *     36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *     id parent dev root mount-point mount-options [optional fields...] - type source super-options
 *
 * Paths escape space, tab, newline and backslash as octal (`\040`).
 */

export interface MountEntry {
  readonly id: number;
  readonly parent: number;
  /** `major:minor` of the file system: two mounts of one tmpfs share it. */
  readonly device: string;
  /** The directory of the file system that is mounted here (`/` for a whole one, deeper for a bind). */
  readonly root: string;
  readonly mountPoint: string;
  /** Per-mount options: `rw`/`ro`, `nosuid`, `nodev`, `noexec`, ... */
  readonly options: readonly string[];
  readonly fsType: string;
  readonly source: string;
  readonly superOptions: readonly string[];
}

/** What a published target must show to be the domain: the same file system, at the same directory. */
export interface MountIdentity {
  readonly device: string;
  readonly root: string;
}

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Parses the whole file; malformed lines are skipped (the kernel writes none). */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 6 || fields.length < separator + 4) continue;
    entries.push({
      id: Number(fields[0]),
      parent: Number(fields[1]),
      device: fields[2],
      root: unescape(fields[3]),
      mountPoint: unescape(fields[4]),
      options: fields[5].split(','),
      fsType: fields[separator + 1],
      source: unescape(fields[separator + 2]),
      superOptions: fields[separator + 3].split(','),
    });
  }
  return entries;
}

/**
 * The visible mount at exactly `path` (the one on top when several are stacked), or undefined
 * when `path` is not a mount point.
 */
export function mountAt(entries: readonly MountEntry[], path: string): MountEntry | undefined {
  const at = entries.filter(e => e.mountPoint === path);
  // A mount stacked on another at the same point has the lower one as its parent.
  return at.find(e => !at.some(other => other.parent === e.id));
}

/**
 * The file system and directory that `path` shows, whether or not it is a mount point: the
 * longest mount point above it, extended by the rest of the path.
 */
export function identityOf(entries: readonly MountEntry[], path: string): MountIdentity | undefined {
  let best: MountEntry | undefined;
  for (const e of entries) {
    const inside = e.mountPoint === '/' || path === e.mountPoint || path.startsWith(`${e.mountPoint}/`);
    if (!inside || (best && best.mountPoint.length > e.mountPoint.length)) continue;
    if (best && best.mountPoint === e.mountPoint && mountAt(entries, e.mountPoint) !== e) continue;
    best = e;
  }
  if (!best) return undefined;
  const rest = best.mountPoint === '/' ? path : path.slice(best.mountPoint.length);
  const root = `${best.root.replace(/\/$/, '')}${rest}`.replace(/\/+/g, '/') || '/';
  return { device: best.device, root: root.length > 1 ? root.replace(/\/$/, '') : root };
}

export function sameIdentity(a: MountIdentity | undefined, b: MountIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.device === b.device && a.root === b.root;
}
