/**
 * What the tests that run in private Linux namespaces share (test/constructs/agent/linux-namespaces.test.ts,
 * test/csi): whether they can run here, and two small programs that use POSIX shared memory as an
 * agent and a business process do (shm_open, then mmap).
 */
import { spawnSync } from 'child_process';

/**
 * Why namespaces, tmpfs mounts or the tools are not available here, or undefined when they are.
 * @param tools programs the tests run inside the namespaces
 */
export function namespacesUnavailable(tools: readonly string[]): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root';
  const probe = spawnSync('unshare', ['--mount', '--ipc', '--fork', '--propagation', 'private', 'sh', '-c',
    `d=$(mktemp -d) && mount -t tmpfs -o size=1m probe "$d" && mount --make-rshared "$d" && umount "$d" && rmdir "$d" && command -v ${tools.join(' ')} >/dev/null`],
  { encoding: 'utf8' });
  if (probe.error) return `unshare cannot run (${probe.error.message})`;
  if (probe.status !== 0) return `unshare/mount/${tools.join('/')} not permitted or missing here (${(probe.stderr || `exit ${probe.status}`).trim()})`;
  return undefined;
}

/** `python3 -c POSIX_WRITER /segment text`: creates the segment and writes the text at its start. */
export const POSIX_WRITER = `
import mmap, os, sys, _posixshmem
fd = _posixshmem.shm_open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o666)
os.ftruncate(fd, 4096)
m = mmap.mmap(fd, 4096)
m[:len(sys.argv[2]) + 1] = sys.argv[2].encode() + b'\\0'
m.flush()
print('wrote', sys.argv[2])
`;

/** `python3 -c POSIX_READER /segment...`: prints `read /segment text` for each. */
export const POSIX_READER = `
import mmap, os, sys, _posixshmem
for name in sys.argv[1:]:
    fd = _posixshmem.shm_open(name, os.O_RDONLY, 0)
    m = mmap.mmap(fd, 4096, prot=mmap.PROT_READ)
    print('read', name, m[:m.find(b'\\0')].decode())
`;
