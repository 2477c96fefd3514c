/**
 * The bundled CSI node plugin with real mounts, as root, inside private mount and IPC namespaces
 * (test/programs/csi/support/node-sandbox.ts): the plugin mounts and owns the tmpfs domain on the "node",
 * publishes it into "pods" of its tenants only, and the pods and the agent, each in its own IPC
 * namespace, exchange bytes through POSIX shared memory (shm_open) in their /dev/shm.
 *
 * The suite runs twice: with the machine's `mount` (util-linux), and with busybox's, which is what
 * the official Alpine node image that runs the plugin in a cluster has (scripts/fetch-busybox.sh
 * fetches Debian's static build).
 *
 * Where namespaces or mounts are not permitted, the tests say so in their names and are skipped.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CsiClient, MOUNT_CAPABILITY, NodeSandbox, PluginProcess, podContext } from './support/node-sandbox';
import { tmpfsMounterScript } from '../../../src/constructs/agent/mounter';
import { POSIX_READER, POSIX_WRITER, namespacesUnavailable } from '../../support/linux-namespaces';

const namespacesReason = namespacesUnavailable(['python3', 'nsenter']);

/** busybox's mount and umount, or why there are none. */
function busybox(): { dir?: string; reason?: string } {
  if (namespacesReason) return { reason: namespacesReason };
  const fetched = spawnSync(path.join(__dirname, '..', '..', '..', 'scripts', 'fetch-busybox.sh'), { encoding: 'utf8', timeout: 300_000 });
  return fetched.status === 0 ? { dir: fetched.stdout.trim() } : { reason: `no busybox: ${(fetched.stderr || String(fetched.error)).trim().split('\n').pop()}` };
}
const busyboxTools = busybox();

const MiB = 1024 * 1024;
const PLUGIN_ARGS = ['--driver-name=agent.cdk8s-shm.io', '--node-id=node-1', '--domain-name=agent', '--tenant=agent/default', '--tenant=shop', '--tenant=ml/trainer'];

const SUITES: Array<[string, string | undefined, string | undefined]> = [
  ['util-linux', undefined, namespacesReason],
  ['busybox', busyboxTools.dir, busyboxTools.reason],
];

let sandbox: NodeSandbox;
let plugin: PluginProcess;
let client: CsiClient;
let scripts: string;

async function publish(podUid: string, namespace: string, serviceAccount = 'default', extra: object = {}): Promise<any> {
  return client.node('NodePublishVolume', {
    volume_id: `csi-${podUid}`,
    target_path: sandbox.targetFor(podUid),
    volume_capability: MOUNT_CAPABILITY,
    volume_context: podContext(namespace, podUid, serviceAccount),
    ...extra,
  });
}

function unpublish(podUid: string): Promise<any> {
  return client.node('NodeUnpublishVolume', { volume_id: `csi-${podUid}`, target_path: sandbox.targetFor(podUid) });
}

function write(podUid: string, segment: string, text: string) {
  return sandbox.inPod(sandbox.targetFor(podUid), `python3 ${scripts}/writer.py ${segment} ${text}`);
}

function read(podUid: string, ...segments: string[]) {
  return sandbox.inPod(sandbox.targetFor(podUid), `python3 ${scripts}/reader.py ${segments.join(' ')}`);
}

describe.each(SUITES)('the CSI node plugin on Linux namespaces, %s mount', (_label, mountTools, reason) => {
  const linuxTest = reason === undefined ? test : test.skip;
  const suffix = reason === undefined ? '' : ` [SKIPPED: ${reason}]`;

  beforeAll(async () => {
    if (reason !== undefined) return;
    sandbox = await NodeSandbox.start();
    scripts = path.join(sandbox.work, 'scripts');
    fs.mkdirSync(scripts);
    fs.writeFileSync(path.join(scripts, 'writer.py'), POSIX_WRITER);
    fs.writeFileSync(path.join(scripts, 'reader.py'), POSIX_READER);
    plugin = await sandbox.startPlugin([...PLUGIN_ARGS, `--domain-size=${16 * MiB}`], mountTools);
    client = new CsiClient(plugin.socket);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await sandbox?.dispose();
    sandbox = undefined as unknown as NodeSandbox;
  }, 30_000);

  linuxTest(`the plugin mounts a bounded tmpfs on the node, nosuid,nodev,noexec, mode 1777${suffix}`, () => {
    const line = sandbox.mountLine(sandbox.domainDir);
    expect(line).toMatch(/ rw,nosuid,nodev,noexec,relatime .*- tmpfs cdk8s-shm\.io rw,size=16384k/);
    expect(plugin.logs().find(l => l.msg === 'domain mounted')).toMatchObject({ kind: 'tmpfs', sizeBytes: String(16 * MiB) });
    expect(sandbox.run(`stat -c %a '${sandbox.domainDir}'`).stdout.trim()).toBe('1777');
  });

  linuxTest(`tenants write POSIX segments through their published volumes and the agent reads them${suffix}`, async () => {
    expect(await publish('agent-pod', 'agent')).toEqual({});
    expect(await publish('web-1', 'shop', 'web')).toEqual({});
    expect(await publish('trainer-1', 'ml', 'trainer')).toEqual({});

    // The node's view of each target: the domain's tmpfs, with the flags the kubelet must see.
    for (const pod of ['agent-pod', 'web-1', 'trainer-1']) {
      expect(sandbox.mountLine(sandbox.targetFor(pod))).toMatch(/ \/ \S+ rw,nosuid,nodev,noexec,relatime .*- tmpfs cdk8s-shm\.io /);
    }
    expect(write('web-1', '/ring-web', 'hello-from-web').stdout).toContain('wrote hello-from-web');
    expect(write('trainer-1', '/ring-ml', 'hello-from-ml').stdout).toContain('wrote hello-from-ml');
    const agent = read('agent-pod', '/ring-web', '/ring-ml');
    expect(agent.stderr).not.toMatch(/Traceback/);
    expect(agent.stdout).toContain('read /ring-web hello-from-web');
    expect(agent.stdout).toContain('read /ring-ml hello-from-ml');
    // The segments are files of the domain, nowhere else.
    expect(sandbox.run(`ls '${sandbox.domainDir}'`).stdout.split('\n').filter(Boolean).sort()).toEqual(['ring-ml', 'ring-web']);
    expect((await plugin.waitForLogs('published', 3)).map(l => `${l.namespace}/${l.pod}/${l.serviceAccount}`))
      .toEqual(['agent/agent-pod/default', 'shop/web-1/web', 'ml/trainer-1/trainer']);
  });

  linuxTest(`a tenant cannot execute from the domain, nor write past its size${suffix}`, () => {
    const exec = sandbox.inPod(sandbox.targetFor('web-1'), "printf '#!/bin/sh\\necho ran\\n' > /dev/shm/x.sh && chmod +x /dev/shm/x.sh && /dev/shm/x.sh; echo \"exit $?\"; rm -f /dev/shm/x.sh");
    expect(exec.stdout).not.toContain('ran\n');
    expect(exec.stdout).toContain('exit 126');
    const big = sandbox.inPod(sandbox.targetFor('web-1'), 'dd if=/dev/zero of=/dev/shm/big bs=1M count=32 2>&1; rm -f /dev/shm/big');
    expect(big.stdout).toContain('No space left on device');
  });

  linuxTest(`a namespace, or a ServiceAccount, that the domain does not list is refused and gets nothing${suffix}`, async () => {
    const refused = await publish('evil-1', 'evil');
    expect(refused).toEqual({
      code: 7, // PERMISSION_DENIED: "rpc error: code = PermissionDenied desc = ..." in the pod's events
      details: "pod evil/evil-1 (ServiceAccount 'default') may not use shared-memory domain 'agent': "
        + "its tenants are agent/default, shop, ml/trainer. Share the workload with the agent, or add 'evil' to the agent's tenants",
    });
    expect((await publish('ml-other', 'ml', 'default')).code).toBe(7);
    expect(sandbox.mountLine(sandbox.targetFor('evil-1'))).toBeUndefined();
    expect(sandbox.run(`test -e '${sandbox.targetFor('evil-1')}'`).status).not.toBe(0);
    // Another domain's name, and a request without the kubelet's pod information.
    const otherDomain = await client.node('NodePublishVolume', {
      volume_id: 'x', target_path: sandbox.targetFor('web-2'), volume_capability: MOUNT_CAPABILITY, volume_context: podContext('shop', 'web-2', 'default', 'other'),
    });
    expect(otherDomain.code).toBe(3); // INVALID_ARGUMENT
    const anonymous = await client.node('NodePublishVolume', {
      volume_id: 'x', target_path: sandbox.targetFor('web-2'), volume_capability: MOUNT_CAPABILITY, volume_context: { 'domain': 'agent', 'csi.storage.k8s.io/ephemeral': 'true' },
    });
    expect(anonymous).toMatchObject({ code: 7, details: expect.stringContaining('podInfoOnMount: true') });
    // A target outside the kubelet's pods directory.
    const outside = await client.node('NodePublishVolume', {
      volume_id: 'x', target_path: path.join(sandbox.node, 'etc'), volume_capability: MOUNT_CAPABILITY, volume_context: podContext('shop', 'web-2'),
    });
    expect(outside).toMatchObject({ code: 3, details: expect.stringContaining('must be an absolute path below') });
    expect(await plugin.waitForLogs('publish refused', 4)).toHaveLength(4);
  });

  linuxTest(`publishing again is a no-op; a read-only publish is read-only on the node${suffix}`, async () => {
    expect(await publish('web-1', 'shop', 'web')).toEqual({});
    expect(sandbox.run('grep -c "kubernetes.io~csi/shm/mount " /proc/self/mountinfo').stdout.trim()).toBe('3');
    expect(await plugin.waitForLogs('already published', 1)).toHaveLength(1);
    // The same target asked for read-only: refused, it is published read-write.
    expect(await publish('web-1', 'shop', 'web', { readonly: true })).toMatchObject({ code: 6 }); // ALREADY_EXISTS

    expect(await publish('reader-1', 'shop', 'default', { readonly: true })).toEqual({});
    expect(sandbox.mountLine(sandbox.targetFor('reader-1'))).toMatch(/ ro,nosuid,nodev,noexec/);
    const attempt = sandbox.inPod(sandbox.targetFor('reader-1'), 'touch /dev/shm/nope 2>&1; ls /dev/shm');
    expect(attempt.stdout).toContain('Read-only file system');
    expect(attempt.stdout).toContain('ring-web');
    expect(await unpublish('reader-1')).toEqual({});
  });

  linuxTest(`unpublishing one tenant removes its target alone and leaves the others' segments${suffix}`, async () => {
    expect(await unpublish('web-1')).toEqual({});
    expect(sandbox.mountLine(sandbox.targetFor('web-1'))).toBeUndefined();
    expect(sandbox.run(`test -e '${sandbox.targetFor('web-1')}'`).status).not.toBe(0); // the directory is gone too
    expect(sandbox.mountLine(sandbox.domainDir)).toBeDefined(); // the domain stays
    // The segment web-1 wrote lives on, for the agent and for the other tenant.
    expect(read('agent-pod', '/ring-web', '/ring-ml').stdout).toContain('read /ring-web hello-from-web');
    expect(read('trainer-1', '/ring-web').stdout).toContain('read /ring-web hello-from-web');
    // Unpublishing what is not there succeeds (the kubelet retries).
    expect(await unpublish('web-1')).toEqual({});
    expect(await plugin.waitForLogs('nothing to unpublish', 1)).toHaveLength(1);
  });

  linuxTest(`a restarted plugin reuses the tmpfs, resizes it in place and keeps every segment; it never unmounts it${suffix}`, async () => {
    expect(await plugin.stop()).toBe(0);
    expect(sandbox.mountLine(sandbox.domainDir)).toMatch(/size=16384k/); // still mounted after the stop
    client.close();
    plugin = await sandbox.startPlugin([...PLUGIN_ARGS, `--domain-size=${32 * MiB}`], mountTools);
    client = new CsiClient(plugin.socket);
    expect(plugin.logs().find(l => l.msg.startsWith('domain '))?.msg).toBe('domain resized');
    const domainMounts = sandbox.run('cat /proc/self/mountinfo').stdout.split('\n').filter(l => l.split(' ')[4] === sandbox.domainDir);
    expect(domainMounts).toHaveLength(1); // resized, not stacked
    expect(domainMounts[0]).toMatch(/size=32768k/);
    // The published tenants still see the same domain through the new size.
    expect(sandbox.mountLine(sandbox.targetFor('trainer-1'))).toMatch(/size=32768k/);
    expect(read('agent-pod', '/ring-web', '/ring-ml').stdout).toContain('read /ring-ml hello-from-ml');
    // The new plugin knows the existing targets: publishing one again is a no-op.
    expect(await publish('trainer-1', 'ml', 'trainer')).toEqual({});
    expect(await plugin.waitForLogs('already published', 1)).toHaveLength(1);
  });

  linuxTest(`shrinking below what is in use keeps the old size and every segment${suffix}`, async () => {
    expect(write('trainer-1', '/ring-ml', 'still-here').status).toBe(0);
    expect(sandbox.inPod(sandbox.targetFor('trainer-1'), 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=4 2>&1').status).toBe(0);
    expect(await plugin.stop()).toBe(0);
    client.close();
    plugin = await sandbox.startPlugin([...PLUGIN_ARGS, `--domain-size=${2 * MiB}`], mountTools);
    client = new CsiClient(plugin.socket);
    expect(plugin.logs().find(l => l.msg.startsWith('domain'))?.msg).toMatch(/domain kept at its old size/);
    expect(sandbox.mountLine(sandbox.domainDir)).toMatch(/size=32768k/);
    expect(read('agent-pod', '/ring-ml').stdout).toContain('read /ring-ml still-here');
    sandbox.inPod(sandbox.targetFor('trainer-1'), 'rm -f /dev/shm/fill');
  });

  linuxTest(`the Identity and Node services a kubelet and the registrar call${suffix}`, async () => {
    expect(await client.identityCall('GetPluginInfo')).toEqual({ name: 'agent.cdk8s-shm.io', vendor_version: expect.any(String), manifest: {} });
    expect(await client.identityCall('GetPluginCapabilities')).toEqual({ capabilities: [] }); // no controller service
    expect(await client.identityCall('Probe')).toEqual({ ready: { value: true } });
    expect(await client.node('NodeGetCapabilities')).toEqual({ capabilities: [] }); // no staging
    expect(await client.node('NodeGetInfo')).toEqual({ node_id: 'node-1', max_volumes_per_node: '0', accessible_topology: null });
    expect(await client.node('NodeStageVolume', { volume_id: 'x' })).toMatchObject({ code: 12 }); // UNIMPLEMENTED
    const block = await client.node('NodePublishVolume', {
      volume_id: 'x', target_path: sandbox.targetFor('b'), volume_capability: { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }, volume_context: podContext('shop', 'b'),
    });
    expect(block).toMatchObject({ code: 3, details: expect.stringContaining('raw block volumes are not supported') });
    // The socket is the kubelet's and the registrar's (root) only.
    expect((fs.statSync(plugin.socket).mode % 0o1000).toString(8)).toBe('600');
  });
});

describe('moving from the hostPath delivery', () => {
  const linuxTest = namespacesReason === undefined ? test : test.skip;
  const suffix = namespacesReason === undefined ? '' : ` [SKIPPED: ${namespacesReason}]`;

  linuxTest(`the plugin adopts the tmpfs the hostPath mounter made, with its segments; its tenants get noexec${suffix}`, async () => {
    const node = await NodeSandbox.start();
    try {
      // The mounter script of the hostPath delivery, as synthesized, run on the node's domain directory.
      const mounted = node.run(tmpfsMounterScript(8n * 2n ** 20n, node.domainDir));
      expect(mounted.stdout).toContain('tmpfs mounted on');
      expect(node.run(`echo kept > '${node.domainDir}/segment'`).status).toBe(0);
      expect(node.mountLine(node.domainDir)).not.toMatch(/noexec/);
      const adopting = await node.startPlugin([...PLUGIN_ARGS, `--domain-size=${8 * MiB}`]);
      expect(adopting.logs().find(l => l.msg?.startsWith('domain'))?.msg).toBe('domain resized');
      const lines = node.run('cat /proc/self/mountinfo').stdout.split('\n').filter(l => l.split(' ')[4] === node.domainDir);
      expect(lines).toHaveLength(1); // the same tmpfs, not a second one
      // A remount's per-mount flags stay in the plugin's namespace: the node's own mount keeps the
      // mounter's (until the node reboots), while every bind the plugin makes carries noexec.
      expect(lines[0]).toMatch(/ rw,nosuid,nodev,relatime .*- tmpfs cdk8s-shm\.io rw,size=8192k/);
      const client2 = new CsiClient(adopting.socket);
      try {
        expect(await client2.node('NodePublishVolume', {
          volume_id: 'v', target_path: node.targetFor('web'), volume_capability: MOUNT_CAPABILITY, volume_context: podContext('shop', 'web'),
        })).toEqual({});
      } finally {
        client2.close();
      }
      expect(node.mountLine(node.targetFor('web'))).toMatch(/ rw,nosuid,nodev,noexec,relatime .*- tmpfs cdk8s-shm\.io /);
      expect(node.inPod(node.targetFor('web'), 'cat /dev/shm/segment').stdout).toBe('kept\n');
    } finally {
      await node.dispose();
    }
  }, 60_000);
});
