/**
 * The shell scripts the agent pod runs before its own containers start. They are the only code of
 * ours that runs on a node, so they stay POSIX `sh` + `awk` (busybox has both) and are tested on
 * Linux by running them as they are emitted.
 */
import { TMPFS_SOURCE } from '../../contracts/domain-mount';

/** Where the mounter and the preparer see the domain directory inside their container. */
export const DOMAIN_CONTAINER_PATH = '/shm-domain';

/**
 * Mounts a tmpfs of `sizeBytes` on the domain directory, idempotently.
 *
 * - Our tmpfs is already there (the agent restarted or was updated): resize it in place (`remount`
 *   keeps every segment), and keep the old size if the kernel refuses (shrinking below what is in
 *   use).
 * - Otherwise mount a fresh one, `mode=1777` so that unprivileged agents and business pods can
 *   create segments, as in a host's own `/dev/shm`.
 *
 * The mount is made on a hostPath volume with Bidirectional propagation, so it lands in the node's
 * mount namespace and outlives this container. Nothing unmounts it: agent updates and restarts
 * keep the segments business pods still use; the rollback steps in the README unmount it.
 */
export function tmpfsMounterScript(sizeBytes: bigint, target: string = DOMAIN_CONTAINER_PATH): string {
  return [
    'set -eu',
    `target='${target}'`,
    `size=${sizeBytes}`,
    // mountinfo: field 4 is the root inside the filesystem, 5 the mount point, and after the "-"
    // separator come the filesystem type and the source.
    `if awk -v t="$target" -v s='${TMPFS_SOURCE}' '{ for (i = 7; i <= NF && $i != "-"; i++) ; if ($5 == t && $4 == "/" && $(i + 1) == "tmpfs" && $(i + 2) == s) found = 1 } END { exit !found }' /proc/self/mountinfo; then`,
    '  if mount -o "remount,size=$size" "$target"; then echo "tmpfs on $target kept, size=$size"; else echo "tmpfs on $target kept at its old size: remount to size=$size failed" >&2; fi',
    'else',
    `  mount -t tmpfs -o "size=$size,mode=1777,nosuid,nodev" '${TMPFS_SOURCE}' "$target"`,
    '  echo "tmpfs mounted on $target, size=$size"',
    'fi',
  ].join('\n');
}

/**
 * Opens a directory on the host's `/dev/shm` to every user, like `/dev/shm` itself (`1777`): the
 * kubelet creates a hostPath directory `0755` and owned by root, which unprivileged agents and
 * business pods could not write. Runs as root without any capability: the owner may chmod.
 */
export function hostShmPreparerScript(target: string = DOMAIN_CONTAINER_PATH): string {
  return `set -eu\nchmod 1777 '${target}'\necho "prepared $(ls -ld '${target}')"`;
}

/**
 * The init container of the hostPath delivery that runs one of the scripts above on the domain
 * volume: for a dedicated tmpfs the only privileged container of the agent (mount(2) and
 * Bidirectional propagation both need it), for a `/dev/shm` directory root without capabilities
 * (root owns the directory the kubelet created, and an owner needs no capability to chmod).
 * @param sizeBytes the tmpfs size, or undefined for a directory of the node's `/dev/shm`
 */
export function mounterContainer(image: string, volumeName: string, sizeBytes: bigint | undefined): Record<string, unknown> {
  const tmpfs = sizeBytes !== undefined;
  const root = { runAsGroup: 0, runAsUser: 0, runAsNonRoot: false, readOnlyRootFilesystem: true };
  return {
    name: tmpfs ? 'mount-tmpfs' : 'prepare-domain',
    image,
    imagePullPolicy: 'Always',
    command: ['/bin/sh', '-c', tmpfs ? tmpfsMounterScript(sizeBytes) : hostShmPreparerScript()],
    resources: { limits: { cpu: '100m', memory: '16Mi' }, requests: { cpu: '10m', memory: '16Mi' } },
    securityContext: tmpfs
      ? { ...root, privileged: true, allowPrivilegeEscalation: true }
      : { ...root, privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    volumeMounts: [tmpfs
      ? { name: volumeName, mountPath: DOMAIN_CONTAINER_PATH, mountPropagation: 'Bidirectional' }
      : { name: volumeName, mountPath: DOMAIN_CONTAINER_PATH }],
  };
}

/** The names of the init containers above: agent containers may not take them. */
export const MOUNTER_CONTAINER_NAMES: readonly string[] = ['mount-tmpfs', 'prepare-domain'];
