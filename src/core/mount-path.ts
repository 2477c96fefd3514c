/**
 * Mount paths as the container runtime compares them. containerd and runc clean every mount
 * destination with Go's `filepath.Clean` before they match it against the others (and against
 * their own default `/dev/shm`), so `/dev/shm/`, `/dev//shm`, `/dev/./shm` and `/dev/../dev/shm`
 * are all the same mount point. A check for "something already at /dev/shm" must clean first, or
 * our mount shadows the user's.
 *
 * The rules are `filepath.Clean`'s on Linux, applied element by element:
 *   1. runs of `/` count as one;
 *   2. `.` elements go;
 *   3. a `..` element goes together with the element before it (unless that is a `..` too);
 *   4. `..` at the start of a rooted path goes (`/..` is `/`); a relative path keeps it;
 *   5. the empty result is `/` for a rooted path and `.` otherwise.
 */
export function normalizeMountPath(path: unknown): string | undefined {
  if (typeof path !== 'string') return undefined;
  if (isCleanRootedPath(path)) return path; // nearly every path: no need to take it apart
  const rooted = path.startsWith('/');
  const kept: string[] = [];
  for (const element of path.split('/')) {
    if (element === '' || element === '.') continue;
    if (element === '..') {
      if (kept.length > 0 && kept[kept.length - 1] !== '..') kept.pop();
      else if (!rooted) kept.push('..');
      continue;
    }
    kept.push(element);
  }
  const joined = kept.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** A rooted path that cleaning leaves as it is: no empty, `.` or `..` element, no trailing `/`. */
function isCleanRootedPath(path: string): boolean {
  return path.length > 1 && path.startsWith('/') && !path.endsWith('/') && !path.includes('//')
    && !path.includes('/./') && !path.includes('/../') && !path.endsWith('/.') && !path.endsWith('/..');
}
