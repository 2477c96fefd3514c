/**
 * The ways in of the pod-creation benchmark (bench/admission.ts), all registered on one control
 * plane for the whole run, each acting in its own labelled namespace (each selects the labelled
 * namespaces and excludes the others'):
 *
 * - `neither`: nothing of ours;
 * - `policy`: the construct's admission policies; `noop-policy`: the honest floor of its kind, a
 *   MutatingAdmissionPolicy with the same match constraints and match conditions and one constant
 *   JSON patch (a `test` that always holds: the pod is left as it is), and a
 *   ValidatingAdmissionPolicy with the same and one constant expression;
 * - `webhook`: the shipped bundle as a local process with the construct's arguments and Node
 *   flags, registered by url with the construct's configuration; `noop-webhook`: the floor of its
 *   kind, bench/floor-server.js (reads the review and answers `allowed`, no patch) with the same
 *   kind of certificate from the same CA, the same TLS floor and Node flags, registered with the
 *   same configuration (only its names and url differ);
 * - with a build to compare (`--before LIB_DIR`), `policy-before` and `webhook-before`: the
 *   policies and the bundle of that build, registered in the same way.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { Scrape, ServerTime, difference, scrapeFloorServer, scrapeWebhookServer, seriesOf } from './admission-metrics';
import { podOf } from './admission-pods';
import { FLOOR_SERVER, freePort } from './servers';
import { NamespaceSelection, WebhookTls } from '../src';
import { NAMESPACE_OPT_IN_VALUE } from '../src/constructs/admission-policy/settings';
import { ControlPlaneState } from '../test/e2e/support/control-plane';
import { Kube, eventually } from '../test/e2e/support/kube';
import { recordPid } from '../test/e2e/support/processes';
import {
  LOOPBACK_PRELOAD, makeServingCertificate, only, serverContainer, startLocalWebhook, synthWebhook, waitForWebhook, withUrl,
} from '../test/e2e/support/webhook';
import { synthAdmissionPolicy } from '../test/support/admission-policy';

export type WayIn = 'neither' | 'noop-policy' | 'policy' | 'policy-before' | 'noop-webhook' | 'webhook' | 'webhook-before';
export type Kind = 'neither' | 'policy' | 'webhook';

/** A way in, as the benchmark measures and reports it. */
export interface Delivery {
  readonly wayIn: WayIn;
  readonly kind: Kind;
  readonly namespace: string;
  /** Whether it sizes pods (ours) or leaves them as they are (neither, the no-ops). */
  readonly sizes: boolean;
  /** The no-op of the same kind, to compare with. */
  readonly floor?: WayIn;
  /** The API server's labels of its own series: the policies it registered (`policy="..."`), or its webhook (`name="..."`). */
  readonly seriesLabels: readonly string[];
}

const SELECTED = { 'cdk8s-shm.io/inject': NAMESPACE_OPT_IN_VALUE };
/** The no-op's JSON patch: one constant operation that always holds and changes nothing. */
export const NOOP_PATCH = "[JSONPatch{op: 'test', path: '/apiVersion', value: 'v1'}]";

/** The ways in of a run: with `before`, the two of that build too. */
export function deliveriesOf(before: boolean): Delivery[] {
  const policy = (wayIn: WayIn, name: string, sizes: boolean, suffixes: readonly string[]): Delivery => ({
    wayIn,
    kind: 'policy',
    namespace: `bench-${wayIn}`,
    sizes,
    floor: sizes ? 'noop-policy' : undefined,
    seriesLabels: [name, ...suffixes.map(s => `${name}${s}`)].map(n => `policy="${n}"`),
  });
  const webhook = (wayIn: WayIn, name: string, sizes: boolean): Delivery => ({
    wayIn, kind: 'webhook', namespace: `bench-${wayIn}`, sizes, floor: sizes ? 'noop-webhook' : undefined, seriesLabels: [`name="${name}"`],
  });
  const ours = ['-without-limit', '-warnings', '-harden'];
  return [
    { wayIn: 'neither', kind: 'neither', namespace: 'bench-neither', sizes: false, seriesLabels: [] },
    policy('noop-policy', 'bench-noop', false, []),
    policy('policy', 'bench', true, ours),
    ...(before ? [policy('policy-before', 'bench-before', true, ours)] : []),
    webhook('noop-webhook', 'noop.pods.cdk8s-shm.io', false),
    webhook('webhook', 'pods.cdk8s-shm.io', true),
    ...(before ? [webhook('webhook-before', 'before.pods.cdk8s-shm.io', true)] : []),
  ];
}

/** What registering needs: the admin, a way to read the API server's metrics, and the build to compare. */
export interface RegisterContext {
  readonly admin: Kube;
  readonly metrics: () => Promise<Scrape>;
  /** `lib/` of the build to compare (policy-before, webhook-before). */
  readonly beforeLib?: string;
}

/** What registering leaves running. */
export interface Registered {
  /** Stops the servers and removes the webhook configurations. */
  readonly unregister: () => Promise<void>;
  /** Each webhook server's own time so far (from its metrics, or the no-op's /stats), by way in. */
  readonly serverTimes: ReadonlyMap<WayIn, () => Promise<ServerTime>>;
}

/** Creates the namespaces and registers every way in; waits until each acts in its namespace. */
export async function registerDeliveries(deliveries: readonly Delivery[], context: RegisterContext): Promise<Registered> {
  const { admin } = context;
  const labelled = deliveries.filter(d => d.kind !== 'neither');
  const others = (d: Delivery) => labelled.filter(o => o !== d).map(o => o.namespace);
  for (const d of deliveries) await admin.namespace(d.namespace, d.kind === 'neither' ? {} : SELECTED);
  await admin.namespace('bench-webhook-server');
  const stops: Array<() => Promise<void>> = [];
  const serverTimes = new Map<WayIn, () => Promise<ServerTime>>();
  try {
    for (const d of labelled) {
      const selection = { namespaceSelection: NamespaceSelection.OPT_IN, excludedNamespaces: others(d) };
      switch (d.wayIn) {
        case 'policy':
          await admin.apply(synthAdmissionPolicy({ name: 'bench', ...selection }));
          break;
        case 'policy-before':
          await admin.apply(synthBeforePolicy(context.beforeLib!, { name: 'bench-before', ...selection }));
          break;
        case 'noop-policy':
          await admin.apply(noopPolicyObjects(synthAdmissionPolicy({ name: 'bench-noop', ...selection })));
          break;
        default: {
          const registered = await registerWebhook(admin, d, selection, context.beforeLib);
          stops.push(registered.stop);
          serverTimes.set(d.wayIn, registered.serverTime);
        }
      }
      if (d.sizes) await waitForWebhook(admin, d.namespace);
      else await waitForSeries(admin, d, context.metrics);
    }
  } catch (error) {
    for (const stop of stops) await stop().catch(() => undefined);
    throw error;
  }
  return {
    unregister: async () => {
      for (const stop of stops) await stop().catch(() => undefined);
    },
    serverTimes,
  };
}

/**
 * The no-op of the policies: the sizing policy's match constraints and conditions, one constant
 * patch, one constant validation (the hardening policy, which pods without its annotation leave at
 * its match conditions, has no counterpart: its cost is ours).
 */
export function noopPolicyObjects(objects: readonly any[]): any[] {
  const mutating = objects[0];
  if (mutating?.kind !== 'MutatingAdmissionPolicy') throw new Error('the sizing MutatingAdmissionPolicy comes first');
  const { variables: _variables, mutations: _mutations, ...spec } = mutating.spec;
  const { name, labels } = mutating.metadata;
  return [
    { ...mutating, spec: { ...spec, mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: NOOP_PATCH } }] } },
    objects.find(o => o.kind === 'MutatingAdmissionPolicyBinding' && o.spec.policyName === name),
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels },
      spec: { failurePolicy: spec.failurePolicy, matchConstraints: spec.matchConstraints, matchConditions: spec.matchConditions, validations: [{ expression: 'true' }] },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels },
      spec: { policyName: name, validationActions: ['Deny'] },
    },
  ];
}

/** The policies of another build of the library (its lib/, which must resolve the same cdk8s). */
export function synthBeforePolicy(lib: string, props: Record<string, unknown>): any[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const before = require(path.resolve(lib, 'index.js'));
  const chart = Testing.chart();
  new before.SharedMemoryAdmissionPolicy(chart, 'policy', { ...props, namespaceSelection: before.NamespaceSelection.OPT_IN });
  return Testing.synth(chart);
}

/**
 * Starts a webhook's server (ours, the other build's, or the no-op) with the construct's arguments
 * and Node flags and a certificate from the CA its configuration carries, and registers the
 * construct's configuration by url under the delivery's names; ours with a metrics port, where the
 * benchmark reads its own time per request (the no-op's, from its /stats).
 */
async function registerWebhook(
  admin: Kube, d: Delivery, selection: { namespaceSelection: NamespaceSelection; excludedNamespaces: string[] }, beforeLib?: string,
): Promise<{ stop: () => Promise<void>; serverTime: () => Promise<ServerTime> }> {
  const name = d.wayIn === 'webhook' ? 'bench' : d.wayIn === 'noop-webhook' ? 'bench-noop' : 'bench-before';
  const props = { namespace: 'bench-webhook-server', name, ...selection };
  const { ca, serving } = makeServingCertificate({ name, namespace: props.namespace });
  const objects = synthWebhook({ ...props, tls: WebhookTls.provided({ secretName: `${name}-tls`, caBundle: ca.certPem }) });
  const container = serverContainer(objects);
  const nodeOptions: string | undefined = container.env.find((e: any) => e.name === 'NODE_OPTIONS')?.value;
  let port: number;
  let stop: () => Promise<unknown>;
  let serverTime: () => Promise<ServerTime>;
  if (d.wayIn === 'noop-webhook') {
    ({ port, stop } = await startNoopWebhook(admin.cluster, serving, nodeOptions));
    const noopPort = port;
    serverTime = () => scrapeFloorServer(noopPort, ca.certPem);
  } else {
    const server = await startLocalWebhook(admin.cluster, {
      args: container.args,
      nodeOptions,
      serving,
      logLevel: 'info',
      bundle: d.wayIn === 'webhook-before' ? path.resolve(beforeLib!, 'bundle', 'webhook.js') : undefined,
      metricsPort: await freePort(),
    });
    ({ port, stop } = server);
    serverTime = () => scrapeWebhookServer(server.metricsPort!);
  }
  const configuration = withUrl(only(objects, 'MutatingWebhookConfiguration'), port);
  configuration.webhooks[0].name = d.seriesLabels[0].replace(/^name="(.*)"$/, '$1');
  await admin.apply([configuration]);
  return {
    stop: async () => {
      await admin.kubectl(['delete', 'mutatingwebhookconfiguration', configuration.metadata.name, '--ignore-not-found']);
      await stop();
    },
    serverTime,
  };
}

/** The no-op webhook: bench/floor-server.js on 127.0.0.1 with the serving certificate and the webhook's Node flags. */
async function startNoopWebhook(
  cluster: ControlPlaneState, serving: { certPem: string; keyPem: string }, nodeOptions?: string,
): Promise<{ port: number; stop: () => Promise<unknown> }> {
  const dir = fs.mkdtempSync(path.join(cluster.dir, 'noop-webhook-'));
  fs.writeFileSync(path.join(dir, 'tls.crt'), serving.certPem);
  fs.writeFileSync(path.join(dir, 'tls.key'), serving.keyPem, { mode: 0o600 });
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [FLOOR_SERVER, '--port', String(port), '--tls-cert', path.join(dir, 'tls.crt'), '--tls-key', path.join(dir, 'tls.key')], {
    env: { PATH: process.env.PATH, NODE_OPTIONS: `${nodeOptions ?? ''} --require ${LOOPBACK_PRELOAD}`.trim() },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  recordPid(cluster.dir, child.pid, 'noop-webhook');
  const exited = new Promise(resolve => child.once('exit', resolve));
  await eventually('the no-op webhook listening', () => new Promise<true | undefined>(resolve => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(undefined));
  }), 10_000, 50);
  return {
    port,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * Waits until a no-op acts in its namespace: a server-side dry run of a pod there shows in the API
 * server's own series of it (the no-ops leave no trace on the pod).
 */
async function waitForSeries(admin: Kube, d: Delivery, metrics: () => Promise<Scrape>): Promise<void> {
  const family = d.kind === 'policy' ? 'mutating_admission_policy_check_duration_seconds' : 'admission_webhook_admission_duration_seconds';
  // A pod every policy matches (one with memory limits).
  const probe = { ...podOf('sized'), metadata: { name: 'probe', namespace: d.namespace } };
  await eventually(`${d.wayIn} acting in ${d.namespace}`, async () => {
    const before = await metrics();
    await admin.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: JSON.stringify(probe) });
    const after = await metrics();
    return seriesOf(difference(before, after), family, [d.seriesLabels[0]]).count > 0 ? true : undefined;
  }, 60_000, 200);
}
