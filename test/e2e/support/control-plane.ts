/**
 * A real Kubernetes control plane for the end-to-end suites: etcd, kube-apiserver and
 * kube-controller-manager of the release pinned in e2e/kube/go.mod, built once by
 * e2e/kube/build.sh (cached outside the clone) and started on 127.0.0.1, on free ports, in a
 * temporary directory, with:
 *
 * - authentication by client certificates (the admin is in `system:masters`, the controller
 *   manager is `system:kube-controller-manager`) and by ServiceAccount tokens (TokenRequest);
 * - RBAC authorization, and the default admission plugins plus the ones the suites are about
 *   (`MutatingAdmissionWebhook`, `PodSecurity`), so a pod is judged as in a real cluster;
 * - the controllers that turn Deployments, StatefulSets, Jobs, CronJobs and DaemonSets into Pods.
 *   There is no scheduler and no kubelet: pods stay Pending, and what the API returns is what
 *   admission let through;
 * - a "service network" (service-network.ts) standing in for cluster DNS and kube-proxy: the API
 *   server reaches a webhook registered by Service (`name.namespace.svc`) through an HTTP CONNECT
 *   proxy on 127.0.0.1 that forwards to a local process, TLS end to end.
 *
 * One control plane serves a whole jest run: `global-setup.ts` starts it and writes where it is
 * into a state file; test files get it with `controlPlane()`. Anything that fails to start is
 * stopped again, and a run that died is cleaned up by the next one (its own recorded pids only).
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { recordPid, recordedPids } from './processes';

export const REPO = path.join(__dirname, '..', '..', '..');
/** The Go module that pins the Kubernetes release and builds the binaries. */
export const KUBE_MODULE = path.join(REPO, 'e2e', 'kube');
/** Set by global-setup.ts for the test files: the JSON file describing the running control plane. */
export const STATE_ENV = 'CDK8S_SHM_E2E_STATE';
const RUN_PREFIX = 'cdk8s-shm-e2e-';
const LOOPBACK = '127.0.0.1';
/**
 * The Service IP range. Nothing ever dials a ClusterIP here (the service network routes by name),
 * and a loopback range guarantees that a mistake could only ever reach this machine.
 */
const SERVICE_CIDR = '127.96.0.0/24';

/** The Kubernetes version, read from the one place it is pinned: the require of k8s.io/kubernetes in e2e/kube/go.mod. */
export function kubeVersion(): string {
  const text = fs.readFileSync(path.join(KUBE_MODULE, 'go.mod'), 'utf8');
  const match = /^\s*k8s\.io\/kubernetes\s+(v1\.\d+\.\d+)\b/m.exec(text);
  if (!match) throw new Error('e2e/kube/go.mod does not require k8s.io/kubernetes v1.x.y');
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
export function buildKube(): string {
  return execFileSync(path.join(KUBE_MODULE, 'build.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** Where the running control plane is; everything a test needs to reach it. */
export interface ControlPlaneState {
  readonly version: string;
  readonly dir: string;
  readonly binDir: string;
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
}

export interface RunningControlPlane extends ControlPlaneState {
  stop(): Promise<void>;
}

interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
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
 * Starts etcd, kube-apiserver and kube-controller-manager and waits until the API server is ready
 * and the controllers work (the `default` ServiceAccount exists). Stops what it started if any step
 * fails.
 */
export async function startControlPlane(binDir: string = buildKube()): Promise<RunningControlPlane> {
  reapDeadRuns();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), RUN_PREFIX));
  fs.writeFileSync(path.join(dir, 'owner.pid'), String(process.pid));
  const started: Started[] = [];
  const stop = async () => {
    // What tests started (webhooks) and left running, then the control plane: controllers first,
    // so that nothing writes while the API server goes away.
    const ours = new Set(started.map(p => p.child.pid));
    await Promise.all(recordedPids(dir).filter(p => !ours.has(p.pid) && belongsTo(p.pid, dir)).map(p => killPid(p.pid)));
    for (const process of [...started].reverse()) await stopProcess(process);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pki = makePki(dir);
    const logs: Record<string, string> = {};
    const launch = (name: string, args: string[], env: NodeJS.ProcessEnv = {}, command = path.join(binDir, name), stdout: 'log' | 'pipe' = 'log') => {
      logs[name] = path.join(dir, `${name}.log`);
      const out = fs.openSync(logs[name], 'a');
      const child = spawn(command, args, {
        cwd: dir,
        stdio: ['ignore', stdout === 'pipe' ? 'pipe' : out, out],
        env: { PATH: process.env.PATH, HOME: dir, NO_PROXY: `${LOOPBACK},localhost`, ...env },
      });
      fs.closeSync(out);
      recordPid(dir, child.pid, name);
      const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
      started.push({ name, child, exited });
      return child;
    };

    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    launch('etcd', [
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
    await waitFor('etcd', started, logs, async () => (await httpGet(`http://${LOOPBACK}:${etcdClient}/health`)).includes('"health":"true"'), 60_000);

    const servicesFile = path.join(dir, 'services.json');
    const serviceLogFile = path.join(dir, 'service-connections.jsonl');
    const network = launch('service-network', ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'service-network.ts'), servicesFile, serviceLogFile],
      { TS_NODE_PROJECT: path.join(REPO, 'test', 'tsconfig.json'), NODE_PATH: path.join(REPO, 'node_modules') }, process.execPath, 'pipe');
    const proxyPort = await firstLine(network, 'service-network', 30_000).then(Number);
    const server = `https://${LOOPBACK}:${apiPort}`;
    launch('kube-apiserver', [
      `--etcd-servers=http://${LOOPBACK}:${etcdClient}`,
      `--bind-address=${LOOPBACK}`,
      `--advertise-address=${LOOPBACK}`,
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.apiserverCert}`,
      `--tls-private-key-file=${pki.apiserverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=RBAC',
      // The default plugins stay on; these are the ones the suites depend on.
      '--enable-admission-plugins=MutatingAdmissionWebhook,PodSecurity,ServiceAccount,Priority',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPublic}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // The node agent's mounter is privileged: as in every real cluster, allow it.
      '--allow-privileged=true',
      '--profiling=false',
      '--v=1',
    ], {
      // Webhooks registered by Service are dialled as name.namespace.svc:PORT through this proxy
      // (Go's proxy rules never send loopback addresses there, so nothing else is proxied).
      HTTPS_PROXY: `http://${LOOPBACK}:${proxyPort}`,
    });
    const adminKubeconfig = writeKubeconfig(path.join(dir, 'admin.kubeconfig'), server, pki.caCert, { certFile: pki.adminCert, keyFile: pki.adminKey });
    const kcmKubeconfig = writeKubeconfig(path.join(dir, 'kcm.kubeconfig'), server, pki.caCert, { certFile: pki.kcmCert, keyFile: pki.kcmKey });
    const admin = { ca: fs.readFileSync(pki.caCert), cert: fs.readFileSync(pki.adminCert), key: fs.readFileSync(pki.adminKey) };
    await waitFor('kube-apiserver', started, logs, async () => (await httpsGet(`${server}/readyz`, admin)) === 'ok', 120_000);

    launch('kube-controller-manager', [
      `--kubeconfig=${kcmKubeconfig}`,
      // Every controller acts with its own ServiceAccount and RBAC role, as in a real cluster.
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      '--leader-elect=false',
      '--secure-port=0',
      // Without a kubelet a Node never reports Ready; the lifecycle controller would taint the
      // agent's Node not-ready and the DaemonSet would never get a pod. Nothing else is turned off.
      '--controllers=*,-node-lifecycle-controller',
      '--v=1',
    ]);
    await waitFor('kube-controller-manager', started, logs, async () => {
      const body = await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, admin).catch(() => '');
      return body.includes('"kind":"ServiceAccount"');
    }, 120_000);

    const state: ControlPlaneState = {
      version: kubeVersion(),
      dir,
      binDir,
      server,
      caFile: pki.caCert,
      caPem: admin.ca.toString(),
      adminKubeconfig,
      adminCertFile: pki.adminCert,
      adminKeyFile: pki.adminKey,
      servicesFile,
      serviceLogFile,
      summaryFile: path.join(dir, 'summary.jsonl'),
      logs,
    };
    return { ...state, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** The control plane global-setup.ts started for this jest run. */
export function controlPlane(): ControlPlaneState {
  const file = process.env[STATE_ENV];
  if (!file || !fs.existsSync(file)) {
    throw new Error(`no control plane: run the e2e suites with 'npm run e2e' (${STATE_ENV} is not set or its file is gone)`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

async function stopProcess({ child, exited }: Started): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
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
    fs.rmSync(dir, { recursive: true, force: true });
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** Waits until `ready()`; fails with the end of every log if a process exits or time runs out (the directory is removed after). */
async function waitFor(
  name: string, started: readonly Started[], logs: Record<string, string>, ready: () => Promise<boolean>, timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = started.find(p => p.child.exitCode !== null || p.child.signalCode !== null);
    const problem = dead
      ? `${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) while waiting for ${name}`
      : Date.now() > deadline ? `${name} was not ready within ${timeoutMs / 1000} s` : undefined;
    if (problem) {
      const tails = Object.entries(logs).map(([process, file]) => `--- ${process} (last lines) ---\n${readOr(file, '').split('\n').slice(-25).join('\n')}`);
      throw new Error(`${problem}\n${tails.join('\n')}`);
    }
    if (await ready().catch(() => false)) return;
    await sleep(250);
  }
}

/** The first line a process prints on stdout. */
function firstLine(child: ChildProcess, name: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${name} printed nothing within ${timeoutMs / 1000} s`)), timeoutMs);
    child.stdout!.on('data', chunk => {
      text += chunk;
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(text.split('\n')[0].trim());
      }
    });
    child.once('exit', code => reject(new Error(`${name} exited (${code}) before printing its port`)));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
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

function httpsGet(url: string, auth: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<string> {
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

interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly apiserverCert: string;
  readonly apiserverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly kcmCert: string;
  readonly kcmKey: string;
  readonly saKey: string;
  readonly saPublic: string;
}

/** The cluster's CA, serving and client certificates and the ServiceAccount signing key, made with openssl (ECDSA P-256, valid two days). */
function makePki(dir: string): Pki {
  const pki = path.join(dir, 'pki');
  fs.mkdirSync(pki);
  const file = (name: string) => path.join(pki, name);
  const openssl = (args: string[]) => {
    const result = spawnSync('openssl', args, { cwd: pki, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
  };
  openssl(['req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-days', '2', '-subj', '/CN=cdk8s-shm-e2e-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const issue = (name: string, subject: string, extensions: string[]) => {
    fs.writeFileSync(file(`${name}.ext`), extensions.join('\n') + '\n');
    openssl(['req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
  };
  const client = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'];
  issue('apiserver', '/CN=kube-apiserver', [
    'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
  ]);
  issue('admin', '/O=system:masters/CN=cdk8s-shm-e2e-admin', client);
  issue('kcm', '/CN=system:kube-controller-manager', client);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key']);
  openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
  return {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    apiserverCert: file('apiserver.crt'),
    apiserverKey: file('apiserver.key'),
    adminCert: file('admin.crt'),
    adminKey: file('admin.key'),
    kcmCert: file('kcm.crt'),
    kcmKey: file('kcm.key'),
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

