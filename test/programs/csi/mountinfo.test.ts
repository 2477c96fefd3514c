import { identityOf, mountAt, parseMountInfo, sameIdentity } from '../../../src/programs/csi/mountinfo';

// Shaped like a node's /proc/self/mountinfo: the root, the node's /run (a tmpfs, shared), our
// tmpfs on a directory of /run, a hostPath bind of a /dev/shm directory, a published target,
// and two mounts stacked on one point.
const TABLE = [
  '22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw',
  '25 22 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=3256352k,mode=755',
  '26 22 0:24 / /dev/shm rw,nosuid,nodev shared:6 - tmpfs tmpfs rw',
  '90 25 0:58 / /run/cdk8s-shm/agent rw,nosuid,nodev,noexec,relatime shared:40 - tmpfs cdk8s-shm.io rw,size=1048576k,mode=1777',
  '91 22 0:24 /cdk8s-shm-x /shm\\040domain rw,nosuid,nodev shared:6 - tmpfs tmpfs rw',
  '95 22 0:58 / /var/lib/kubelet/pods/uid/volumes/kubernetes.io~csi/shm/mount rw,nosuid,nodev,noexec,relatime shared:40 - tmpfs cdk8s-shm.io rw,size=1048576k,mode=1777',
  '96 22 0:60 / /stacked rw - tmpfs lower rw',
  '97 96 0:61 / /stacked rw - tmpfs upper rw',
  'garbage line',
  '',
].join('\n');

const entries = parseMountInfo(TABLE);

test('parses every well-formed line, unescaping paths', () => {
  expect(entries).toHaveLength(8);
  expect(entries[3]).toEqual({
    id: 90,
    parent: 25,
    device: '0:58',
    root: '/',
    mountPoint: '/run/cdk8s-shm/agent',
    options: ['rw', 'nosuid', 'nodev', 'noexec', 'relatime'],
    fsType: 'tmpfs',
    source: 'cdk8s-shm.io',
    superOptions: ['rw', 'size=1048576k', 'mode=1777'],
  });
  expect(entries[4].mountPoint).toBe('/shm domain');
});

test('mountAt: the visible mount, the top one when stacked; nothing for a plain directory', () => {
  expect(mountAt(entries, '/run/cdk8s-shm/agent')?.id).toBe(90);
  expect(mountAt(entries, '/stacked')?.source).toBe('upper');
  expect(mountAt(entries, '/run/cdk8s-shm')).toBeUndefined();
});

test('identityOf: a published target is the domain; a directory below a mount has its path in that file system', () => {
  const domain = identityOf(entries, '/run/cdk8s-shm/agent');
  expect(domain).toEqual({ device: '0:58', root: '/' });
  expect(sameIdentity(identityOf(entries, '/var/lib/kubelet/pods/uid/volumes/kubernetes.io~csi/shm/mount'), domain)).toBe(true);
  expect(identityOf(entries, '/dev/shm/cdk8s-shm-x')).toEqual({ device: '0:24', root: '/cdk8s-shm-x' });
  expect(identityOf(entries, '/shm domain')).toEqual({ device: '0:24', root: '/cdk8s-shm-x' });
  expect(identityOf(entries, '/shm domain/sub')).toEqual({ device: '0:24', root: '/cdk8s-shm-x/sub' });
  expect(identityOf(entries, '/etc/hosts')).toEqual({ device: '259:2', root: '/etc/hosts' });
  expect(identityOf(entries, '/stacked')).toEqual({ device: '0:61', root: '/' });
  expect(sameIdentity(identityOf(entries, '/run/x'), domain)).toBe(false);
  expect(sameIdentity(undefined, domain)).toBe(false);
});
