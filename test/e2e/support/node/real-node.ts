/**
 * A real node for the e2e run: containerd and runc from Debian, images built here (images.ts),
 * and the kubelet, kube-proxy and kube-scheduler of the pinned release, joined to the run's
 * control plane. Everything lives in the run's network namespace (the node's address is on the
 * CNI bridge, the pods' gateway) and its directory; pod cgroups go under a root of the run's own.
 *
 * The node is labelled and tainted (`NODE_LABELS`, `NODE_TAINT`): only pods that tolerate the taint
 * run here, the copies area 8 makes of what the ways in produced (`forNode` in node-copies.ts). Every
 * other suite's pods stay Pending, as before.
 *
 * `stop()` lets nothing outlive the run: the kubelet first, then every container, kube-proxy, the
 * scheduler and containerd (by pid), then the mounts under the run directory and the cgroup root;
 * what is still there after that is printed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ctr, removeAllContainers, startContainerd } from './containerd';
import { createCgroupRoot, leftovers, removeCgroupRoot, unmountUnder } from './host';
import { IMAGES, buildAndImportImages } from './images';
import { Taint, makeSharedMount, startKubelet } from './kubelet';
import { RunningControlPlane, httpsGet, issueClientCertificate, writeKubeconfig } from '../control-plane';
import { NETWORK, assertRunNamespace } from '../network-namespace';
import { ProcessGroup, runOrThrow } from '../process-group';
import { recordedPids } from '../processes';

export const NODE_NAME = 'cdk8s-shm-e2e-node';
/** The node's label and taint, as seed 002 rolls an agent out: `key=true` on both. */
export const NODE_TAINT: Taint = { key: 'e2e.cdk8s-shm.io/real-node', value: 'true', effect: 'NoSchedule' };
export const NODE_LABELS: Readonly<Record<string, string>> = { 'e2e.cdk8s-shm.io/real-node': 'true' };
const KUBELET_PORT = 10250;
const KUBELET_HEALTHZ_PORT = 10248;

/** Where the node is, for the tests. */
export interface NodeState {
  readonly name: string;
  readonly ip: string;
  /** The kubelet's root directory: what the CSI plugin's `kubeletDir` must be. */
  readonly kubeletDir: string;
  /** A shared mount of the node's, for Bidirectional hostPath volumes (what /run is on a real node). */
  readonly sharedDir: string;
  readonly containerdAddress: string;
  /** The pods' cgroup root in every hierarchy. */
  readonly cgroupRoot: string;
  readonly taint: Taint;
  readonly labels: Readonly<Record<string, string>>;
  readonly images: typeof IMAGES;
  /** Seconds from the start of containerd to the Node's Ready. */
  readonly startSeconds: number;
  readonly logs: Record<string, string>;
}

export interface RunningNode {
  readonly state: NodeState;
  stop(): Promise<void>;
}

/**
 * The node's address on the bridge the CNI plugin then uses as the pods' gateway (the kubelet
 * refuses a loopback node IP), and a route to the Service range.
 */
function addBridge(): void {
  const prefix = NETWORK.podCidr.split('/')[1];
  runOrThrow('ip', ['link', 'add', NETWORK.bridge, 'type', 'bridge']);
  runOrThrow('ip', ['addr', 'add', `${NETWORK.nodeIp}/${prefix}`, 'dev', NETWORK.bridge]);
  runOrThrow('ip', ['link', 'set', NETWORK.bridge, 'up']);
  // ClusterIPs are nowhere: a route to them lets a connection from the node (the service network,
  // for the API server) leave, and kube-proxy's rules send it to a pod.
  runOrThrow('ip', ['route', 'add', NETWORK.serviceCidr, 'dev', NETWORK.bridge, 'src', NETWORK.nodeIp]);
}

function kubeProxyConfig(kubeconfig: string): Record<string, unknown> {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig },
    hostnameOverride: NODE_NAME,
    mode: 'iptables',
    clusterCIDR: NETWORK.podCidr,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    // Its rules live in the run's namespace; the conntrack table's size and timeouts are the
    // machine's, so kube-proxy is told to leave them as they are (zero: do not set).
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    iptables: { localhostNodePorts: false },
    oomScoreAdj: 0,
  };
}

async function nodeReady(cluster: RunningControlPlane, admin: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<boolean> {
  const node = JSON.parse(await httpsGet(`${cluster.server}/api/v1/nodes/${NODE_NAME}`, admin));
  return (node.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

/** Kills what is left of the node's processes (container shims reparented to init): by pid, only if their command line names the run. */
function killStragglers(runDir: string, nodeDir: string): void {
  const recorded = new Set(recordedPids(runDir).map(p => p.pid));
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || recorded.has(pid)) continue;
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes(nodeDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

export async function startRealNode(cluster: RunningControlPlane): Promise<RunningNode> {
  assertRunNamespace();
  const started = Date.now();
  const dir = path.join(cluster.dir, 'node');
  const kubeletDir = path.join(dir, 'kubelet-root');
  const sharedDir = path.join(dir, 'shared');
  const cgroupName = path.basename(cluster.dir);
  const group = new ProcessGroup(cluster.dir);
  let containerdAddress = '';
  const stop = async () => {
    await group.stop('kubelet');
    if (containerdAddress) removeAllContainers(containerdAddress);
    await group.stopAll();
    killStragglers(cluster.dir, dir);
    unmountUnder(dir);
    removeCgroupRoot(cgroupName);
    const left = leftovers(dir, cgroupName);
    if (left.length > 0) process.stderr.write(`real node: left behind after the teardown:\n  ${left.join('\n  ')}\n`);
  };
  try {
    fs.mkdirSync(dir, { recursive: true });
    addBridge();
    const containerd = await startContainerd(group, path.join(dir, 'containerd'));
    containerdAddress = containerd.address;
    buildAndImportImages(path.join(dir, 'images'), containerd.address);
    if (!ctr(containerd.address, ['images', 'ls', '-q']).includes(IMAGES.pause)) throw new Error(`the image ${IMAGES.pause} was not imported`);

    const kubeconfig = (name: string, subject: string) =>
      writeKubeconfig(path.join(dir, `${name}.kubeconfig`), cluster.server, cluster.caFile, issueClientCertificate(cluster.pki, name, subject));
    const bin = (name: string) => path.join(cluster.binDir, name);
    group.launch('kube-scheduler', bin('kube-scheduler'), [
      `--kubeconfig=${kubeconfig('kube-scheduler', '/CN=system:kube-scheduler')}`,
      '--leader-elect=false',
      '--secure-port=0',
      '--v=1',
    ]);

    createCgroupRoot(cgroupName);
    makeSharedMount(kubeletDir, args => runOrThrow('mount', args));
    makeSharedMount(sharedDir, args => runOrThrow('mount', args));
    startKubelet(group, {
      binary: bin('kubelet'),
      rootDir: kubeletDir,
      dir: path.join(dir, 'kubelet'),
      nodeName: NODE_NAME,
      kubeconfig: kubeconfig('kubelet', `/O=system:nodes/CN=system:node:${NODE_NAME}`),
      clientCaFile: cluster.caFile,
      containerdAddress: containerd.address,
      cgroupRoot: `/${cgroupName}`,
      taint: NODE_TAINT,
      labels: NODE_LABELS,
      port: KUBELET_PORT,
      healthzPort: KUBELET_HEALTHZ_PORT,
    });

    const proxyConfig = path.join(dir, 'kube-proxy.json');
    fs.writeFileSync(proxyConfig, JSON.stringify(kubeProxyConfig(kubeconfig('kube-proxy', '/CN=system:kube-proxy'))));
    group.launch('kube-proxy', bin('kube-proxy'), [`--config=${proxyConfig}`, '--v=1']);

    const admin = { ca: fs.readFileSync(cluster.caFile), cert: fs.readFileSync(cluster.adminCertFile), key: fs.readFileSync(cluster.adminKeyFile) };
    await group.waitFor(`Node ${NODE_NAME} Ready`, () => nodeReady(cluster, admin), 120_000);
    // What the node lifecycle controller does once a node is Ready (the control plane runs without
    // it: stand-in Nodes never report, and it would taint them and evict their pods).
    runOrThrow(bin('kubectl'), ['--kubeconfig', cluster.adminKubeconfig, 'taint', 'node', NODE_NAME, 'node.kubernetes.io/not-ready:NoSchedule-']);
    return {
      state: {
        name: NODE_NAME,
        ip: NETWORK.nodeIp,
        kubeletDir,
        sharedDir,
        containerdAddress: containerd.address,
        cgroupRoot: `/${cgroupName}`,
        taint: NODE_TAINT,
        labels: NODE_LABELS,
        images: IMAGES,
        startSeconds: (Date.now() - started) / 1000,
        logs: group.logs,
      },
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
