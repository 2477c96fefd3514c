/**
 * The kubelet of the real node, configured for this machine (../shared/realnode-recipe/README.md):
 *
 * - cgroup v1 with the cgroupfs driver, every pod cgroup under a root of the run's own
 *   (`cgroupRoot`, created and removed by cgroups.ts);
 * - its root directory is an `rshared` bind mount, so the tmpfs it mounts for a memory-backed
 *   emptyDir reaches runc, which runs in the machine's mount namespace;
 * - it runs in a mount namespace of its own, where the six kernel settings it would otherwise
 *   rewrite machine-wide (`setupKernelTunables` in pkg/kubelet/cm/container_manager_linux.go)
 *   are files holding the values it wants: it reads them, finds nothing to change, and the
 *   machine's own settings are never touched;
 * - it registers with a taint, so that only pods that tolerate it run here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NETWORK } from '../network-namespace';
import { ProcessGroup } from '../process-group';

/** What the kubelet would write into /proc/sys, and the value it wants. */
const KERNEL_TUNABLES: Record<string, number> = {
  'vm/overcommit_memory': 1,
  'vm/panic_on_oom': 0,
  'kernel/panic': 10,
  'kernel/panic_on_oops': 1,
  'kernel/keys/root_maxkeys': 1000000,
  'kernel/keys/root_maxbytes': 25000000,
};

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'NoExecute' | 'PreferNoSchedule';
}

export interface KubeletSpec {
  readonly binary: string;
  /** The kubelet's root directory (`--root-dir`); the CSI plugin's `kubeletDir`. */
  readonly rootDir: string;
  /** Its own files: configuration, pod logs, static pods. */
  readonly dir: string;
  readonly nodeName: string;
  readonly kubeconfig: string;
  /** Clients of the kubelet's API (the API server's) present certificates of this CA. */
  readonly clientCaFile: string;
  readonly containerdAddress: string;
  /** The pods' cgroup root, e.g. `/cdk8s-shm-e2e-123`. */
  readonly cgroupRoot: string;
  readonly taint: Taint;
  readonly labels: Readonly<Record<string, string>>;
  /** Ports on the node's address and on the namespace's loopback. */
  readonly port: number;
  readonly healthzPort: number;
}

function config(spec: KubeletSpec): Record<string, unknown> {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    failCgroupV1: false,
    failSwapOn: false,
    cgroupDriver: 'cgroupfs',
    cgroupsPerQOS: true,
    cgroupRoot: spec.cgroupRoot,
    containerRuntimeEndpoint: `unix://${spec.containerdAddress}`,
    address: NETWORK.nodeIp,
    port: spec.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: spec.healthzPort,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: spec.clientCaFile } },
    authorization: { mode: 'AlwaysAllow' },
    podLogsDir: path.join(spec.dir, 'logs'),
    staticPodPath: path.join(spec.dir, 'manifests'),
    // A shared machine: hard eviction only when memory is really short; disk is never the reason.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    protectKernelDefaults: false,
    // No cluster DNS here.
    resolvConf: '',
    registerWithTaints: [spec.taint],
    serializeImagePulls: false,
    // Status every few seconds, so that a test sees a container's end soon after it happens.
    nodeStatusUpdateFrequency: '4s',
    syncFrequency: '10s',
  };
}

/**
 * The script the kubelet's mount namespace runs: bind the tunables' stand-ins over /proc/sys
 * (in that namespace only), then exec the kubelet.
 */
function launchScript(spec: KubeletSpec, fakes: string, configFile: string): string {
  const binds = Object.keys(KERNEL_TUNABLES).map(name => `mount --bind '${path.join(fakes, name.replace(/\//g, '.'))}' '/proc/sys/${name}'`);
  const args = [
    `--config=${configFile}`,
    `--kubeconfig=${spec.kubeconfig}`,
    `--root-dir=${spec.rootDir}`,
    `--hostname-override=${spec.nodeName}`,
    `--node-ip=${NETWORK.nodeIp}`,
    `--node-labels=${Object.entries(spec.labels).map(([k, v]) => `${k}=${v}`).join(',')}`,
    '--v=2',
  ];
  return ['set -e', ...binds, `exec '${spec.binary}' ${args.map(a => `'${a}'`).join(' ')}`].join('\n');
}

/**
 * Makes a directory a shared mount point (idempotent), as a node's /var/lib/kubelet and /run are:
 * mounts made under it in another mount namespace (the kubelet's, a container's Bidirectional
 * volume) then reach the machine's, and the other way round.
 */
export function makeSharedMount(dir: string, mount: (args: readonly string[]) => void): void {
  fs.mkdirSync(dir, { recursive: true });
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  if (!mountinfo.split('\n').some(line => line.split(' ')[4] === dir)) mount(['--bind', dir, dir]);
  mount(['--make-rshared', dir]);
}

/** Starts the kubelet (it registers its Node; the caller waits for Ready). */
export function startKubelet(group: ProcessGroup, spec: KubeletSpec): void {
  const fakes = path.join(spec.dir, 'kernel-tunables');
  for (const d of [fakes, path.join(spec.dir, 'logs'), path.join(spec.dir, 'manifests')]) fs.mkdirSync(d, { recursive: true });
  for (const [name, value] of Object.entries(KERNEL_TUNABLES)) fs.writeFileSync(path.join(fakes, name.replace(/\//g, '.')), `${value}\n`);
  const configFile = path.join(spec.dir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify(config(spec), null, 2));
  const script = path.join(spec.dir, 'run.sh');
  fs.writeFileSync(script, launchScript(spec, fakes, configFile), { mode: 0o755 });
  // --propagation unchanged: the root directory stays a peer of the machine's mount of it.
  group.launch('kubelet', 'unshare', ['--mount', '--propagation', 'unchanged', 'sh', script]);
}
