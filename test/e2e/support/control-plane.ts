/**
 * A real Kubernetes control plane for the end-to-end suites: etcd, kube-apiserver and
 * kube-controller-manager of the release pinned in e2e/kube/go.mod, built once by
 * e2e/kube/build.sh (cached outside the clone) and started in the run's own network namespace
 * (network-namespace.ts), on free ports of its loopback, in a temporary directory, with:
 *
 * - authentication by client certificates (the admin is in `system:masters`, the controller
 *   manager is `system:kube-controller-manager`) and by ServiceAccount tokens (TokenRequest);
 * - RBAC authorization, and the default admission plugins plus the ones the suites are about
 *   (`MutatingAdmissionWebhook`, `PodSecurity`), so a pod is judged as in a real cluster;
 * - the controllers that turn Deployments, StatefulSets, Jobs, CronJobs and DaemonSets into Pods.
 *   The real node (node/real-node.ts) joins it with a taint: only pods that tolerate it run there
 *   (area 8's); elsewhere pods stay Pending, and what the API returns is what admission let through;
 * - a "service network" (service-network.ts) standing in for cluster DNS and kube-proxy: the API
 *   server reaches a webhook registered by Service (`name.namespace.svc`) through an HTTP CONNECT
 *   proxy on 127.0.0.1 that forwards to a local process, TLS end to end.
 *
 * One control plane serves a whole jest run: `global-setup.ts` starts it and writes where it is
 * into a state file; test files get it with `controlPlane()`. Anything that fails to start is
 * stopped again, and a run that died is cleaned up by the next one (its own recorded pids only).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { NETWORK, assertRunNamespace } from './network-namespace';
import { removeCgroupRoot, removeTree } from './node/host';
import type { NodeState } from './node/real-node';
import { ProcessGroup, alive, firstLine, readOr, sleep } from './process-group';
import { recordedPids } from './processes';

export { sleep };

export const REPO = path.join(__dirname, '..', '..', '..');
/** The Go module that pins the Kubernetes release of the control plane and the node, and builds the binaries. */
export const KUBE_MODULE = path.join(REPO, 'e2e', 'kube');
/** The Go module of the second control plane: Kubernetes 1.37, for what only it has. */
export const KUBE_137_MODULE = path.join(REPO, 'e2e', 'kube-1.37');
/** Set by global-setup.ts for the test files: the JSON file describing the running control plane. */
export const STATE_ENV = 'CDK8S_SHM_E2E_STATE';
const RUN_PREFIX = 'cdk8s-shm-e2e-';
const LOOPBACK = '127.0.0.1';

/**
 * The alpha feature gates of Kubernetes 1.37 the suites are about: in-place resize of memory-backed
 * volumes (KEP-6030), mount options and mode of volumes (KEP-5855, KEP-5502). Off by default.
 */
export const KUBE_137_ALPHA_GATES = ['InPlacePodVerticalScalingMemoryBackedVolumes', 'VolumeBindMountOptions', 'EmptyDirVolumeMode'] as const;

/**
 * Starts a second control plane of the release pinned in e2e/kube-1.37/go.mod (its one place), with
 * the 1.37 alpha gates on or off in the API server. The caller stops it. No node joins it: pods stay
 * unscheduled, which a resize does not need (validation.go isPodResizeRequestSupported; the
 * NodeDeclaredFeatures admission skips unbound pods). What the suites ask of 1.37 is admission, so
 * it is the API server and its etcd alone: no controller manager (`Kube.namespace` makes the
 * namespace's default ServiceAccount), and the main release's kubectl, one minor older, which
 * kubectl's version skew allows. Building two fewer binaries of 1.37 shortens a cold CI run.
 */
export function startKube137(gatesOn: boolean): Promise<RunningControlPlane> {
  const gates = KUBE_137_ALPHA_GATES.map(g => `${g}=${gatesOn}`).join(',');
  return startControlPlane({ module: KUBE_137_MODULE, apiServerArgs: [`--feature-gates=${gates}`], controllerManager: false });
}

/** The Kubernetes version, read from the one place it is pinned: the require of k8s.io/kubernetes in the module's go.mod. */
export function kubeVersion(module: string = KUBE_MODULE): string {
  const text = fs.readFileSync(path.join(module, 'go.mod'), 'utf8');
  const match = /^\s*k8s\.io\/kubernetes\s+(v1\.\d+\.\d+)\b/m.exec(text);
  if (!match) throw new Error(`${path.relative(REPO, module)}/go.mod does not require k8s.io/kubernetes v1.x.y`);
  return match[1];
}

/** The etcd server version the module builds (the one k8s.io/kubernetes requires). */
export function etcdVersion(): string {
  const text = fs.readFileSync(path.join(KUBE_MODULE, 'go.mod'), 'utf8');
  return /^\s*go\.etcd\.io\/etcd\/server\/v3\s+(v3\.\d+\.\d+)\b/m.exec(text)?.[1] ?? 'unknown';
}

/**
 * Builds the binaries if the cache does not have them yet (minutes, cold) and returns their
 * directory. Progress goes to this process's stderr.
 */
export function buildKube(module: string = KUBE_MODULE): string {
  return execFileSync(path.join(KUBE_MODULE, 'build.sh'), [module], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** Where the running control plane is; everything a test needs to reach it. */
export interface ControlPlaneState {
  readonly version: string;
  readonly dir: string;
  readonly binDir: string;
  /** The kubectl tests run: the release's own, or the main release's where the module builds none. */
  readonly kubectl: string;
  /** Whether kube-controller-manager runs (else no controller makes ServiceAccounts, Pods of workloads, ...). */
  readonly controllerManager: boolean;
  /** `https://127.0.0.1:PORT` */
  readonly server: string;
  readonly caFile: string;
  readonly caPem: string;
  /** Client-certificate kubeconfig of a `system:masters` user. */
  readonly adminKubeconfig: string;
  readonly adminCertFile: string;
  readonly adminKeyFile: string;
  /** The routes file of the service network (`exposeService` in service-network.ts). */
  readonly servicesFile: string;
  /** One JSON line per connection the service network forwarded or refused. */
  readonly serviceLogFile: string;
  /** Appended to by `summary.ts`: what each test did. */
  readonly summaryFile: string;
  readonly logs: Record<string, string>;
  /** The real node (node/real-node.ts), once global-setup.ts started it. */
  readonly node?: NodeState;
}

export interface RunningControlPlane extends ControlPlaneState {
  /** The certificates the node's components authenticate with. */
  readonly pki: Pki;
  /** The control plane's processes: the node's join them, so that they stop first. */
  readonly group: ProcessGroup;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; the port is closed again before use). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, LOOPBACK, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise(resolve => server.close(resolve));
  return port;
}

/**
 * Starts etcd, kube-apiserver and (unless told not to) kube-controller-manager and waits until the
 * API server is ready and the controllers work (the `default` ServiceAccount exists). Stops what it
 * started if any step fails.
 */
export interface ControlPlaneOptions {
  /** The Go module of the release. @default KUBE_MODULE */
  readonly module?: string;
  /** Where its binaries are. @default what `buildKube(module)` builds (or finds in the cache) */
  readonly binDir?: string;
  /** More flags for the API server (feature gates, runtime config). */
  readonly apiServerArgs?: readonly string[];
  /**
   * Whether to run kube-controller-manager and wait for its first ServiceAccount; without it,
   * `Kube.namespace` makes each namespace's default ServiceAccount, and no controller acts.
   * @default true
   */
  readonly controllerManager?: boolean;
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<RunningControlPlane> {
  const module = options.module ?? KUBE_MODULE;
  const binDir = options.binDir ?? buildKube(module);
  const controllerManager = options.controllerManager ?? true;
  const kubectl = fs.existsSync(path.join(binDir, 'kubectl')) ? path.join(binDir, 'kubectl') : path.join(buildKube(), 'kubectl');
  assertRunNamespace();
  reapDeadRuns();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), RUN_PREFIX));
  fs.writeFileSync(path.join(dir, 'owner.pid'), String(process.pid));
  const group = new ProcessGroup(dir, { NO_PROXY: `${LOOPBACK},localhost` });
  const stop = async () => {
    // What tests started (webhooks) and left running, then the control plane: controllers first,
    // so that nothing writes while the API server goes away.
    const ours = group.pids;
    await Promise.all(recordedPids(dir).filter(p => !ours.has(p.pid) && belongsTo(p.pid, dir)).map(p => killPid(p.pid)));
    await group.stopAll();
    removeTree(dir);
  };
  try {
    const pki = makePki(dir);
    const bin = (name: string) => path.join(binDir, name);

    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    group.launch('etcd', bin('etcd'), [
      '--name=e2e',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=http://${LOOPBACK}:${etcdClient}`,
      `--advertise-client-urls=http://${LOOPBACK}:${etcdClient}`,
      `--listen-peer-urls=http://${LOOPBACK}:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://${LOOPBACK}:${etcdPeer}`,
      `--initial-cluster=e2e=http://${LOOPBACK}:${etcdPeer}`,
      // A throwaway store on a shared disk: durability buys nothing here and costs seconds.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await group.waitFor('etcd', async () => (await httpGet(`http://${LOOPBACK}:${etcdClient}/health`)).includes('"health":"true"'), 60_000);

    const servicesFile = path.join(dir, 'services.json');
    const serviceLogFile = path.join(dir, 'service-connections.jsonl');
    const network = group.launch('service-network', process.execPath,
      ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'service-network.ts'), servicesFile, serviceLogFile],
      { env: { TS_NODE_PROJECT: path.join(REPO, 'test', 'tsconfig.json'), NODE_PATH: path.join(REPO, 'node_modules') }, stdout: 'pipe' });
    const proxyPort = await firstLine(network, 'service-network', 30_000).then(Number);
    const server = `https://${LOOPBACK}:${apiPort}`;
    group.launch('kube-apiserver', bin('kube-apiserver'), [
      `--etcd-servers=http://${LOOPBACK}:${etcdClient}`,
      // Every address of the run's network namespace: its loopback for the tests, the node's
      // address for the kubelet and for pods (the \`kubernetes\` Service's endpoint).
      '--bind-address=0.0.0.0',
      `--advertise-address=${NETWORK.nodeIp}`,
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.apiserverCert}`,
      `--tls-private-key-file=${pki.apiserverKey}`,
      `--client-ca-file=${pki.caCert}`,
      // The Node authorizer and NodeRestriction hold the kubelet to its own node, as in a real cluster.
      '--authorization-mode=Node,RBAC',
      // The default plugins stay on; these are the ones the suites depend on.
      '--enable-admission-plugins=NodeRestriction,MutatingAdmissionWebhook,PodSecurity,ServiceAccount,Priority',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPublic}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      `--service-cluster-ip-range=${NETWORK.serviceCidr}`,
      // kubectl logs and exec: the API server calls the kubelet with a client certificate it trusts.
      `--kubelet-client-certificate=${pki.kubeletClientCert}`,
      `--kubelet-client-key=${pki.kubeletClientKey}`,
      '--kubelet-preferred-address-types=InternalIP',
      // The node agent's mounter is privileged: as in every real cluster, allow it.
      '--allow-privileged=true',
      '--profiling=false',
      '--v=1',
      ...options.apiServerArgs ?? [],
    ], {
      env: {
        // Webhooks registered by Service are dialled as name.namespace.svc:PORT through this proxy;
        // the node and the pods are dialled directly.
        HTTPS_PROXY: `http://${LOOPBACK}:${proxyPort}`,
        NO_PROXY: `${LOOPBACK},localhost,${NETWORK.podCidr},${NETWORK.serviceCidr}`,
      },
    });
    const adminKubeconfig = writeKubeconfig(path.join(dir, 'admin.kubeconfig'), server, pki.caCert, { certFile: pki.adminCert, keyFile: pki.adminKey });
    const kcmKubeconfig = writeKubeconfig(path.join(dir, 'kcm.kubeconfig'), server, pki.caCert, { certFile: pki.kcmCert, keyFile: pki.kcmKey });
    const admin = { ca: fs.readFileSync(pki.caCert), cert: fs.readFileSync(pki.adminCert), key: fs.readFileSync(pki.adminKey) };
    await group.waitFor('kube-apiserver', async () => (await httpsGet(`${server}/readyz`, admin)) === 'ok', 120_000);

    if (controllerManager) await startControllerManager(group, bin('kube-controller-manager'), kcmKubeconfig, pki, server, admin);

    const state: ControlPlaneState = {
      version: kubeVersion(module),
      dir,
      binDir,
      kubectl,
      controllerManager,
      server,
      caFile: pki.caCert,
      caPem: admin.ca.toString(),
      adminKubeconfig,
      adminCertFile: pki.adminCert,
      adminKeyFile: pki.adminKey,
      servicesFile,
      serviceLogFile,
      summaryFile: path.join(dir, 'summary.jsonl'),
      logs: group.logs,
    };
    return { ...state, pki, group, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/**
 * Starts kube-controller-manager and waits until its controllers work: the ServiceAccount
 * controller made the `default` ServiceAccount of the namespace `default`.
 */
async function startControllerManager(group: ProcessGroup, binary: string, kubeconfig: string, pki: Pki, server: string,
  admin: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<void> {
  group.launch('kube-controller-manager', binary, [
    `--kubeconfig=${kubeconfig}`,
    // Every controller acts with its own ServiceAccount and RBAC role, as in a real cluster.
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki.saKey}`,
    `--root-ca-file=${pki.caCert}`,
    '--leader-elect=false',
    '--secure-port=0',
    // Stand-in Nodes (the ones corpus pods are bound to) never report Ready; the lifecycle
    // controller would taint them and evict their pods. Nothing else is turned off.
    '--controllers=*,-node-lifecycle-controller',
    '--v=1',
  ]);
  await group.waitFor('kube-controller-manager', async () => {
    const body = await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, admin).catch(() => '');
    return body.includes('"kind":"ServiceAccount"');
  }, 120_000);
}

/** The control plane global-setup.ts started for this jest run. */
export function controlPlane(): ControlPlaneState {
  const file = process.env[STATE_ENV];
  if (!file || !fs.existsSync(file)) {
    throw new Error(`no control plane: run the e2e suites with 'npm run e2e' (${STATE_ENV} is not set or its file is gone)`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/**
 * A run killed before its teardown leaves processes behind. Each run records its owner pid and
 * the pids it started; a run whose owner is gone has its own processes killed, by pid, only if
 * their command line still names that run's directory or binaries, and its directory removed.
 */
function reapDeadRuns(): void {
  for (const entry of fs.readdirSync(os.tmpdir())) {
    if (!entry.startsWith(RUN_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), entry);
    const owner = Number(readOr(path.join(dir, 'owner.pid'), ''));
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    for (const { pid } of recordedPids(dir)) {
      if (belongsTo(pid, dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // Its node's mounts and cgroups first: the directory holds pod volumes, which rm must never enter.
    removeTree(dir);
    removeCgroupRoot(entry);
  }
}

/** Whether a running pid is still a process of the run in `dir` (its command line or working directory is there): pids get reused. */
function belongsTo(pid: number, dir: string): boolean {
  if (readOr(`/proc/${pid}/cmdline`, '').includes(dir)) return true;
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`).startsWith(dir);
  } catch {
    return false;
  }
}

/** SIGTERM, and SIGKILL if the process is still there after 5 s. */
async function killPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { timeout: 5_000 }, res => {
      let body = '';
      res.on('data', chunk => (body += chunk));
      res.on('end', () => resolve(body));
    }).on('error', reject).on('timeout', function (this: http.ClientRequest) {
      this.destroy(new Error('timeout'));
    });
  });
}

export function httpsGet(url: string, auth: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<string> {
  return new Promise((resolve, reject) => {
    https.get(url, { ...auth, timeout: 5_000, agent: false }, res => {
      let body = '';
      res.on('data', chunk => (body += chunk));
      res.on('end', () => resolve(body));
    }).on('error', reject).on('timeout', function (this: http.ClientRequest) {
      this.destroy(new Error('timeout'));
    });
  });
}

export interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly apiserverCert: string;
  readonly apiserverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly kcmCert: string;
  readonly kcmKey: string;
  /** The API server's client certificate towards the kubelet (logs, exec). */
  readonly kubeletClientCert: string;
  readonly kubeletClientKey: string;
  readonly saKey: string;
  readonly saPublic: string;
}

function openssl(dir: string, args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
}

/** Issues `NAME.crt` and `NAME.key` in the run's pki directory, signed by the cluster's CA. */
function issue(pkiDir: string, name: string, subject: string, extensions: readonly string[]): { certFile: string; keyFile: string } {
  fs.writeFileSync(path.join(pkiDir, `${name}.ext`), extensions.join('\n') + '\n');
  openssl(pkiDir, ['req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(pkiDir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
  return { certFile: path.join(pkiDir, `${name}.crt`), keyFile: path.join(pkiDir, `${name}.key`) };
}

const CLIENT_EXTENSIONS = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'];

/** A client certificate of the cluster's CA (a node's components authenticate with these). */
export function issueClientCertificate(pki: Pki, name: string, subject: string): { certFile: string; keyFile: string } {
  return issue(path.dirname(pki.caCert), name, subject, CLIENT_EXTENSIONS);
}

/** The cluster's CA, serving and client certificates and the ServiceAccount signing key, made with openssl (ECDSA P-256, valid two days). */
function makePki(dir: string): Pki {
  const pki = path.join(dir, 'pki');
  fs.mkdirSync(pki);
  const file = (name: string) => path.join(pki, name);
  openssl(pki, ['req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-days', '2', '-subj', '/CN=cdk8s-shm-e2e-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  issue(pki, 'apiserver', '/CN=kube-apiserver', [
    'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth',
    // Tests dial 127.0.0.1, the kubelet the node's address, pods the \`kubernetes\` Service's ClusterIP.
    `subjectAltName=IP:127.0.0.1,IP:${NETWORK.nodeIp},IP:${NETWORK.kubernetesServiceIp},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local`,
  ]);
  issue(pki, 'admin', '/O=system:masters/CN=cdk8s-shm-e2e-admin', CLIENT_EXTENSIONS);
  issue(pki, 'kcm', '/CN=system:kube-controller-manager', CLIENT_EXTENSIONS);
  issue(pki, 'apiserver-kubelet-client', '/CN=kube-apiserver-kubelet-client', CLIENT_EXTENSIONS);
  openssl(pki, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key']);
  openssl(pki, ['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
  return {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    apiserverCert: file('apiserver.crt'),
    apiserverKey: file('apiserver.key'),
    adminCert: file('admin.crt'),
    adminKey: file('admin.key'),
    kcmCert: file('kcm.crt'),
    kcmKey: file('kcm.key'),
    kubeletClientCert: file('apiserver-kubelet-client.crt'),
    kubeletClientKey: file('apiserver-kubelet-client.key'),
    saKey: file('sa.key'),
    saPublic: file('sa.pub'),
  };
}

/** How a kubeconfig authenticates: a client certificate, or a bearer token. */
export type KubeconfigUser = { readonly certFile: string; readonly keyFile: string } | { readonly token: string };

/** Writes a kubeconfig (JSON, which kubectl and helm read as YAML) and returns its path. */
export function writeKubeconfig(file: string, server: string, caFile: string, user: KubeconfigUser): string {
  const userEntry = 'token' in user ? { token: user.token } : { 'client-certificate': user.certFile, 'client-key': user.keyFile };
  fs.writeFileSync(file, JSON.stringify({
    'apiVersion': 'v1',
    'kind': 'Config',
    'clusters': [{ name: 'e2e', cluster: { server, 'certificate-authority': caFile } }],
    'users': [{ name: 'user', user: userEntry }],
    'contexts': [{ name: 'e2e', context: { cluster: 'e2e', user: 'user' } }],
    'current-context': 'e2e',
  }, null, 2), { mode: 0o600 });
  return file;
}

