/**
 * Debian's containerd (1.6) and runc (1.1) as the node's runtime, with a root, a state directory,
 * a socket and a CNI configuration of the run's own. What this machine needs (see
 * ../shared/realnode-recipe/README.md, where each was a failure first):
 *
 * - cgroup v1 without systemd: runc's cgroupfs driver (`SystemdCgroup = false`);
 * - no CAP_SYS_RESOURCE: runc cannot lower an `oom_score_adj` (the sandbox asks -998), so the CRI
 *   plugin clamps it (`restrict_oom_score_adj`);
 * - the pods' network namespaces are mounted under the run's state directory, not /var/run.
 *
 * The CNI bridge plugin makes the bridge, and every pod's veth, in the namespace containerd runs
 * in: the run's own (network-namespace.ts).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { IMAGES } from './images';
import { NETWORK } from '../network-namespace';
import { ProcessGroup } from '../process-group';

export interface Containerd {
  readonly address: string;
  readonly root: string;
  readonly state: string;
  readonly cniConfDir: string;
}

/** Debian's CNI plugins. */
const CNI_BIN_DIR = '/usr/lib/cni';

function configToml(dir: string): { toml: string; containerd: Containerd } {
  const containerd: Containerd = {
    address: path.join(dir, 'containerd.sock'),
    root: path.join(dir, 'root'),
    state: path.join(dir, 'state'),
    cniConfDir: path.join(dir, 'cni', 'net.d'),
  };
  const toml = `version = 2
root = "${containerd.root}"
state = "${containerd.state}"
[grpc]
  address = "${containerd.address}"
[ttrpc]
  address = "${containerd.address}.ttrpc"
[debug]
  level = "info"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${IMAGES.pause}"
  enable_cdi = false
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${containerd.cniConfDir}"
`;
  return { toml, containerd };
}

/** The bridge network of the pods: the node's address is the bridge's, and the pods' gateway. */
function cniConfig(dir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'cdk8s-shm-e2e',
    plugins: [{
      type: 'bridge',
      bridge: NETWORK.bridge,
      // The pods' default route goes through the bridge: how they reach ClusterIPs (kube-proxy's rules) and the node.
      isDefaultGateway: true,
      ipMasq: false,
      hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: NETWORK.podCidr, gateway: NETWORK.nodeIp }]], dataDir: path.join(dir, 'cni', 'ipam') },
    }],
  }, null, 2);
}

/** `ctr` against this containerd, in the Kubernetes namespace; returns stdout, throws on failure. */
export function ctr(address: string, args: readonly string[]): string {
  const result = spawnSync('ctr', ['-a', address, '-n', 'k8s.io', ...args], { encoding: 'utf8' });
  if (result.error || result.status !== 0) throw new Error(`ctr ${args.join(' ')} failed: ${result.error?.message ?? result.stderr.trim()}`);
  return result.stdout;
}

/** Starts containerd in `dir` and waits until it answers. */
export async function startContainerd(group: ProcessGroup, dir: string): Promise<Containerd> {
  const { toml, containerd } = configToml(dir);
  fs.mkdirSync(containerd.cniConfDir, { recursive: true });
  fs.writeFileSync(path.join(containerd.cniConfDir, '10-cdk8s-shm-e2e.conflist'), cniConfig(dir));
  const config = path.join(dir, 'config.toml');
  fs.writeFileSync(config, toml);
  group.launch('containerd', 'containerd', ['--config', config]);
  await group.waitFor('containerd', async () => spawnSync('ctr', ['-a', containerd.address, 'version'], { stdio: 'ignore' }).status === 0, 30_000);
  return containerd;
}

/**
 * Kills and deletes every container containerd still has (the kubelet is stopped first), so that
 * no shim and no container process outlives the run.
 */
export function removeAllContainers(address: string): void {
  if (!fs.existsSync(address)) return;
  const list = (kind: 'tasks' | 'containers') => {
    try {
      return ctr(address, [kind, 'ls', '-q']).split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const quietly = (args: readonly string[]) => spawnSync('ctr', ['-a', address, '-n', 'k8s.io', ...args], { stdio: 'ignore', timeout: 30_000 });
  for (const task of list('tasks')) quietly(['tasks', 'kill', '-s', 'SIGKILL', task]);
  for (const task of list('tasks')) quietly(['tasks', 'delete', '-f', task]);
  for (const container of list('containers')) quietly(['containers', 'delete', container]);
}
