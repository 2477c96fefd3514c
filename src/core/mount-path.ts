/**
 * Mount paths as the container runtime compares them: `/dev/shm/` and `/dev//shm` are the same
 * mount point as `/dev/shm`, so a check for "something already at /dev/shm" must normalize first.
 */
export function normalizeMountPath(path: unknown): string | undefined {
  if (typeof path !== 'string') return undefined;
  const collapsed = path.replace(/\/+/g, '/');
  return collapsed.length > 1 ? collapsed.replace(/\/$/, '') : collapsed;
}
