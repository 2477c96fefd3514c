/**
 * The webhook as the e2e suites run it: the shipped bundle (lib/bundle/webhook.js, built by
 * `npx projen compile`) as a local process on 127.0.0.1, started with exactly the arguments and
 * Node flags the `SharedMemoryWebhook` construct deploys it with, and registered with the
 * `MutatingWebhookConfiguration` the construct synthesizes, only its `clientConfig` turned into a
 * `url` on 127.0.0.1 (its `caBundle` kept), or left as the Service reference the construct wrote
 * (reached through the service network).
 *
 * Self-managed TLS runs the process as a pod would: a ServiceAccount token and the cluster CA at
 * /var/run/secrets/kubernetes.io/serviceaccount, which the server reads from there and nowhere
 * else. So the process gets a private mount namespace (`unshare --mount`, as root) with a tmpfs
 * over /var/run holding them; the machine's own /var/run is never touched.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { ControlPlaneState, REPO } from './control-plane';
import { Kube, eventually } from './kube';
import { recordPid } from './processes';
import { exposeService } from './service-network';
import { SharedMemoryWebhook, SharedMemoryWebhookProps, WebhookTls } from '../../../src';
import { SIZE_LIMIT_ANNOTATION } from '../../../src/core';
import { IssuedCertificate, createCertificateAuthority, issueServingCertificate } from '../../../src/programs/webhook/x509';
import { LogEntry, followJsonLog } from '../../programs/webhook/support/json-log';

/** The shipped server bundle. */
export const WEBHOOK_BUNDLE = path.join(REPO, 'lib', 'bundle', 'webhook.js');
/** Preloaded into local servers: listen() binds 127.0.0.1. */
export const LOOPBACK_PRELOAD = path.join(__dirname, 'listen-loopback.js');

/** What `SharedMemoryWebhook` synthesizes with these props, in a chart of its own. */
export function synthWebhook(props: SharedMemoryWebhookProps): any[] {
  const app = new App();
  const chart = new Chart(app, 'webhook');
  new SharedMemoryWebhook(chart, 'webhook', props);
  return chart.toJson();
}

/**
 * Deletes the cluster-wide objects among `objects` (webhook configurations, ClusterRoles and their
 * bindings, Nodes): namespaced ones stay in their test's namespaces, but these would meet the next
 * test file (or a helm install) under the same names.
 */
export async function deleteClusterScoped(kube: Kube, objects: readonly any[]): Promise<void> {
  const kinds: Record<string, string> = {
    MutatingWebhookConfiguration: 'mutatingwebhookconfiguration',
    ClusterRole: 'clusterrole',
    ClusterRoleBinding: 'clusterrolebinding',
    Node: 'node',
  };
  for (const object of objects) {
    const resource = kinds[object.kind];
    if (resource) await kube.kubectl(['delete', resource, object.metadata.name, '--ignore-not-found', '--wait=false']);
  }
}

/** One object of a kind among synthesized objects (throws if there is not exactly one). */
export function only(objects: readonly any[], kind: string): any {
  const found = objects.filter(o => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
}

/** The server container of the synthesized Deployment: its args and NODE_OPTIONS are what the process runs with. */
export function serverContainer(objects: readonly any[]): any {
  return only(objects, 'Deployment').spec.template.spec.containers[0];
}

/** A CA and a serving certificate for the Service's DNS names and 127.0.0.1 (files mode, `url` registration). */
export function makeServingCertificate(service: { name: string; namespace: string }): { ca: IssuedCertificate; serving: IssuedCertificate } {
  const ca = createCertificateAuthority({ commonName: 'cdk8s-shm-e2e-webhook-ca', validityMs: 24 * 3600_000 });
  const svc = `${service.name}.${service.namespace}.svc`;
  const serving = issueServingCertificate(ca, { commonName: svc, dnsNames: [svc, `${svc}.cluster.local`], ipAddresses: ['127.0.0.1'], validityMs: 24 * 3600_000 });
  return { ca, serving };
}

export interface LocalWebhook {
  readonly child: ChildProcess;
  readonly port: number;
  /** The metrics port, with `metricsPort`. */
  readonly metricsPort?: number;
  readonly logs: LogEntry[];
  stderr(): string;
  waitForLog(predicate: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** SIGTERM, then the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface LocalWebhookOptions {
  /**
   * The server's arguments as the construct renders them; `--port=0`, `--metrics-port` (0 unless
   * `metricsPort`: replicas run side by side on one machine, so no fixed second port) and the TLS
   * files are appended.
   */
  readonly args: readonly string[];
  /** A port for the server's /metrics (the benchmark reads its own time per request). @default 0 (none) */
  readonly metricsPort?: number;
  /** The container's NODE_OPTIONS. */
  readonly nodeOptions?: string;
  /** Files mode: the serving certificate. */
  readonly serving?: IssuedCertificate;
  /** Self-managed mode: runs in a private mount namespace with this token and CA as its ServiceAccount mount. */
  readonly serviceAccount?: { readonly token: string; readonly caPem: string };
  readonly env?: NodeJS.ProcessEnv;
  /** The tests read every admission from the log (debug); the benchmark runs as deployed (info). */
  readonly logLevel?: 'debug' | 'info';
  /** Another build of the bundle (the benchmark compares two). @default WEBHOOK_BUNDLE */
  readonly bundle?: string;
}

/** Whether the self-managed mode can run here (root, and mount namespaces permitted); undefined when it can. */
export function mountNamespaceUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root';
  const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=1m e2e /var/run'], { encoding: 'utf8' });
  if (probe.error) return `unshare cannot run (${probe.error.message})`;
  if (probe.status !== 0) return `mount namespaces not permitted here (${(probe.stderr || `exit ${probe.status}`).trim()})`;
  return undefined;
}

/** Starts the bundled server and waits for its "listening" line. */
export async function startLocalWebhook(cluster: ControlPlaneState, options: LocalWebhookOptions): Promise<LocalWebhook> {
  const dir = fs.mkdtempSync(path.join(cluster.dir, 'webhook-'));
  const args = [...options.args, '--port=0', `--metrics-port=${options.metricsPort ?? 0}`, `--log-level=${options.logLevel ?? 'debug'}`];
  if (options.serving) {
    fs.writeFileSync(path.join(dir, 'tls.crt'), options.serving.certPem);
    fs.writeFileSync(path.join(dir, 'tls.key'), options.serving.keyPem, { mode: 0o600 });
    args.push(`--tls-cert=${path.join(dir, 'tls.crt')}`, `--tls-key=${path.join(dir, 'tls.key')}`);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_OPTIONS: `${options.nodeOptions ?? ''} --require ${LOOPBACK_PRELOAD}`.trim(),
    ...options.env,
  };
  let child: ChildProcess;
  if (options.serviceAccount) {
    const mount = path.join(dir, 'serviceaccount');
    fs.mkdirSync(mount);
    fs.writeFileSync(path.join(mount, 'token'), options.serviceAccount.token, { mode: 0o600 });
    fs.writeFileSync(path.join(mount, 'ca.crt'), options.serviceAccount.caPem);
    const url = new URL(cluster.server);
    env.KUBERNETES_SERVICE_HOST = url.hostname;
    env.KUBERNETES_SERVICE_PORT = url.port;
    // The pod's view: /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt}, in this process only.
    const script = [
      'set -e',
      'mount -t tmpfs -o size=1m,mode=755 cdk8s-shm-e2e /var/run',
      'mkdir -p /var/run/secrets/kubernetes.io/serviceaccount',
      'cp "$0"/token "$0"/ca.crt /var/run/secrets/kubernetes.io/serviceaccount/',
      'shift',
      'exec "$@"',
    ].join('\n');
    child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, mount, 'placeholder', process.execPath, options.bundle ?? WEBHOOK_BUNDLE, ...args],
      { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  } else {
    child = spawn(process.execPath, [options.bundle ?? WEBHOOK_BUNDLE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  }
  recordPid(cluster.dir, child.pid, 'webhook');

  const { logs, stderr, exited, waitForLog } = followJsonLog(child);
  const listening = await waitForLog(entry => entry.msg === 'listening');
  return {
    child,
    port: listening.port,
    metricsPort: listening.metricsPort,
    logs,
    stderr,
    waitForLog,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * The construct's MutatingWebhookConfiguration, registered to call `https://127.0.0.1:PORT<path>`
 * instead of its Service (the `caBundle` stays as synthesized).
 */
export function withUrl(configuration: any, port: number): any {
  const copy = structuredClone(configuration);
  for (const webhook of copy.webhooks) {
    const { service, ...rest } = webhook.clientConfig;
    webhook.clientConfig = { ...rest, url: `https://127.0.0.1:${port}${service?.path ?? '/mutate'}` };
  }
  return copy;
}

/** Makes `name.namespace.svc:port` of a Service reach a local process or `host:port` (the service network). */
export function exposeLocalService(
  cluster: ControlPlaneState, service: { name: string; namespace: string; port?: number }, target: number | string | undefined,
): void {
  exposeService(cluster.servicesFile, service, target);
}

/**
 * Waits until the API server calls the webhook (its configuration reaches the admission plugin a
 * moment after it is written): a server-side dry run of a pod with a memory limit in `namespace`
 * comes back with the size annotation. With `active: false`, until it no longer does.
 */
export async function waitForWebhook(kube: Kube, namespace: string, active = true): Promise<void> {
  const probe = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'webhook-probe', namespace },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'probe',
        image: 'busybox:1.36.1',
        resources: { limits: { memory: '256Mi' } },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      }],
    },
  };
  await eventually(`the webhook ${active ? 'called' : 'no longer called'} for pods in ${namespace}`, async () => {
    const run = await kube.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: JSON.stringify(probe), allowFailure: true });
    const injected = run.status === 0 && JSON.parse(run.stdout).metadata?.annotations?.[SIZE_LIMIT_ANNOTATION] !== undefined;
    return injected === active ? true : undefined;
  }, 60_000, 200);
}

/** A webhook registered by url (files mode): what `registerLocalWebhook` started. */
export interface RegisteredWebhook {
  readonly objects: any[];
  readonly configuration: any;
  /** The server container the construct deploys: its args and NODE_OPTIONS. */
  readonly container: any;
  readonly ca: IssuedCertificate;
  readonly serving: IssuedCertificate;
  readonly process: LocalWebhook;
  /** Deletes the configuration and stops the process. */
  unregister(): Promise<void>;
}

/**
 * Synthesizes SharedMemoryWebhook with `props` (TLS: a provided CA, whose bundle the configuration
 * carries), starts the bundled server with the construct's arguments and a certificate for its
 * Service and 127.0.0.1, registers the configuration by url, and waits until the API server calls
 * it for pods in `probeNamespace`.
 */
export async function registerLocalWebhook(
  kube: Kube, props: SharedMemoryWebhookProps & { namespace: string }, probeNamespace: string, logLevel?: LocalWebhookOptions['logLevel'],
): Promise<RegisteredWebhook> {
  const { ca, serving } = makeServingCertificate({ name: props.name ?? 'cdk8s-shm-webhook', namespace: props.namespace });
  const objects = synthWebhook({ ...props, tls: WebhookTls.provided({ secretName: 'cdk8s-shm-webhook-tls', caBundle: ca.certPem }) });
  const configuration = only(objects, 'MutatingWebhookConfiguration');
  const container = serverContainer(objects);
  const process = await startLocalWebhook(kube.cluster, {
    args: container.args,
    nodeOptions: container.env.find((e: any) => e.name === 'NODE_OPTIONS')?.value,
    serving,
    logLevel,
  });
  await kube.apply([withUrl(configuration, process.port)]);
  await waitForWebhook(kube, probeNamespace);
  return {
    objects,
    configuration,
    container,
    ca,
    serving,
    process,
    unregister: async () => {
      await kube.kubectl(['delete', 'mutatingwebhookconfiguration', configuration.metadata.name, '--ignore-not-found']);
      await process.stop();
    },
  };
}
