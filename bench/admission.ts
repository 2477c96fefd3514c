/**
 * Pod creation through a real API server, for `npm run bench`: the latency a client sees for
 * `POST /api/v1/namespaces/NS/pods` when the MutatingAdmissionPolicy sizes the pod, when the
 * webhook does, and when neither does.
 *
 * It runs on the e2e control plane (etcd, kube-apiserver and kube-controller-manager of
 * Kubernetes 1.36, built once from the Go module proxy by e2e/kube/build.sh and cached outside the
 * clone), so it needs Go; elsewhere it is skipped. The webhook is the shipped bundle as a local
 * process with the construct's arguments and Node flags and its log level as deployed (info),
 * registered by url on 127.0.0.1 with the construct's configuration; the policies are the
 * construct's. All three stay registered for the whole run and are told apart by namespace
 * (each selects labelled namespaces and excludes the other's), so every measurement alternates
 * between them, in a different order each round, over the same keep-alive connections.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import { median } from './load';
import { NamespaceSelection } from '../src';
import { NAMESPACE_OPT_IN_VALUE } from '../src/constructs/admission-policy/settings';
import { SIZE_LIMIT_ANNOTATION } from '../src/core';
import { ControlPlaneState, buildKube, startControlPlane } from '../test/e2e/support/control-plane';
import { Kube } from '../test/e2e/support/kube';
import { registerLocalWebhook, waitForWebhook } from '../test/e2e/support/webhook';
import { synthAdmissionPolicy } from '../test/support/admission-policy';

export type WayIn = 'neither' | 'webhook' | 'policy';
const WAYS_IN: readonly WayIn[] = ['neither', 'webhook', 'policy'];
const NAMESPACES: Record<WayIn, string> = { neither: 'bench-neither', webhook: 'bench-webhook', policy: 'bench-policy' };
const SELECTED = { 'cdk8s-shm.io/inject': NAMESPACE_OPT_IN_VALUE };

export interface AdmissionCell {
  readonly wayIn: WayIn;
  readonly concurrency: number;
  /** Medians over the rounds of each round's p50 and p99 (ms), and of its pods per second. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly podsPerSecond: number;
  /** p50 minus the p50 of `neither` in the same round, median over the rounds (ms). */
  readonly addedP50Ms: number;
}

export interface AdmissionFigures {
  readonly kubernetes: string;
  readonly podsPerCell: number;
  readonly rounds: number;
  readonly cells: readonly AdmissionCell[];
}

/** A pod the rule sizes: an app container and a native sidecar with limits, an init container. */
function benchPod(): unknown {
  const container = (name: string, memory: string, extra: Record<string, unknown> = {}) => ({ name, image: 'registry.example.com/app:1.0.0', resources: { limits: { memory } }, ...extra });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'bench-', labels: { app: 'bench' } },
    spec: {
      initContainers: [container('setup', '256Mi'), container('proxy', '512Mi', { restartPolicy: 'Always' })],
      containers: [container('app', '4Gi', { volumeMounts: [{ name: 'data', mountPath: '/data' }] })],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
  };
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Creates `count` pods in `namespace`, `concurrency` at a time; the latency of each, in ms. */
async function createPods(cluster: ControlPlaneState, agent: https.Agent, namespace: string, count: number, concurrency: number): Promise<number[]> {
  const body = JSON.stringify(benchPod());
  const url = new URL(`${cluster.server}/api/v1/namespaces/${namespace}/pods`);
  const post = () => new Promise<number>((resolve, reject) => {
    const started = performance.now();
    const request = https.request({ hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json' } }, response => {
      let text = '';
      response.on('data', chunk => (text += chunk));
      response.on('end', () => {
        if (response.statusCode !== 201) reject(new Error(`creating a pod in ${namespace}: HTTP ${response.statusCode} ${text.slice(0, 300)}`));
        else resolve(performance.now() - started);
      });
    });
    request.on('error', reject);
    request.end(body);
  });
  const latencies: number[] = [];
  let started = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (started < count) {
      started++;
      latencies.push(await post());
    }
  }));
  return latencies;
}

/**
 * The three ways in on one control plane: `podsPerCell` pods per way in, concurrency and round.
 * @returns undefined (with the reason logged) where the control plane cannot be built
 */
export async function runAdmissionBenchmarks(
  podsPerCell: number, rounds: number, log: (line: string) => void,
): Promise<AdmissionFigures | undefined> {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    log('pod creation through the API server: skipped (no Go to build the control plane; see e2e/kube/build.sh)');
    return undefined;
  }
  log('pod creation through the API server: building (once, cached) and starting the control plane ...');
  const cluster = await startControlPlane({ binDir: buildKube() });
  const admin = new Kube(cluster, cluster.adminKubeconfig, 'admin');
  let unregister: (() => Promise<void>) | undefined;
  try {
    await admin.namespace(NAMESPACES.neither);
    for (const wayIn of ['webhook', 'policy'] as const) await admin.namespace(NAMESPACES[wayIn], SELECTED);
    await admin.namespace('bench-webhook-server');
    const policy = synthAdmissionPolicy({ name: 'bench', namespaceSelection: NamespaceSelection.OPT_IN, excludedNamespaces: [NAMESPACES.webhook] });
    await admin.apply(policy);
    await waitForWebhook(admin, NAMESPACES.policy);
    const webhook = await registerLocalWebhook(admin, {
      namespace: 'bench-webhook-server', name: 'bench', namespaceSelection: NamespaceSelection.OPT_IN, excludedNamespaces: [NAMESPACES.policy],
    }, NAMESPACES.webhook, 'info');
    unregister = webhook.unregister;

    const concurrencies = [1, 8];
    const agents = new Map(concurrencies.map(c => [c, new https.Agent({
      keepAlive: true, maxSockets: c, ca: cluster.caPem, cert: fs.readFileSync(cluster.adminCertFile), key: fs.readFileSync(cluster.adminKeyFile),
    })]));
    // Warm up every path (the policy's compiled programs, the webhook's JIT, the connections).
    for (const wayIn of WAYS_IN) {
      for (const c of concurrencies) await createPods(cluster, agents.get(c)!, NAMESPACES[wayIn], Math.min(50, podsPerCell), c);
    }

    const runs = new Map<string, Array<{ p50: number; p99: number; rate: number }>>();
    for (let round = 0; round < rounds; round++) {
      for (const c of concurrencies) {
        // A different order each round: none of the three always runs first.
        const order = WAYS_IN.map((_d, i) => WAYS_IN[(i + round) % WAYS_IN.length]);
        for (const wayIn of order) {
          const started = performance.now();
          const latencies = await createPods(cluster, agents.get(c)!, NAMESPACES[wayIn], podsPerCell, c);
          const seconds = (performance.now() - started) / 1000;
          const key = `${wayIn}/${c}`;
          runs.set(key, [...runs.get(key) ?? [], { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), rate: podsPerCell / seconds }]);
        }
        log(`pod creation through the API server: round ${round + 1} of ${rounds}, ${c} at a time: done`);
      }
    }
    for (const agent of agents.values()) agent.destroy();

    // The pods were sized as each way in sizes them, and not at all where neither acts.
    for (const wayIn of WAYS_IN) {
      const pods = await admin.list('pods', NAMESPACES[wayIn]);
      const sized = pods.filter(p => p.metadata.annotations?.[SIZE_LIMIT_ANNOTATION] === '2Gi').length;
      if (sized !== (wayIn === 'neither' ? 0 : pods.length)) throw new Error(`${wayIn}: ${sized} of ${pods.length} pods sized 2Gi`);
    }

    const cells = concurrencies.flatMap(c => WAYS_IN.map((wayIn): AdmissionCell => {
      const mine = runs.get(`${wayIn}/${c}`)!;
      const neither = runs.get(`neither/${c}`)!;
      return {
        wayIn,
        concurrency: c,
        p50Ms: median(mine.map(r => r.p50)),
        p99Ms: median(mine.map(r => r.p99)),
        podsPerSecond: median(mine.map(r => r.rate)),
        addedP50Ms: median(mine.map((r, i) => r.p50 - neither[i].p50)),
      };
    }));
    return { kubernetes: cluster.version, podsPerCell, rounds, cells };
  } finally {
    await unregister?.().catch(() => undefined);
    await cluster.stop();
  }
}

/** The report's section. */
export function admissionReport(figures: AdmissionFigures, table: (headers: string[], rows: string[][]) => string): string {
  const f2 = (n: number) => n.toFixed(2);
  return [
    `## 6. Pod creation through the API server (Kubernetes ${figures.kubernetes}; ${figures.podsPerCell} pods per cell and round; medians of ${figures.rounds} rounds)`,
    '',
    table(
      ['way in', 'at a time', 'p50 (ms)', 'p99 (ms)', 'pods/s', 'p50 added to neither (ms)'],
      figures.cells.map(c => [c.wayIn, String(c.concurrency), f2(c.p50Ms), f2(c.p99Ms), c.podsPerSecond.toFixed(0), c.wayIn === 'neither' ? '-' : f2(c.addedP50Ms)]),
    ),
  ].join('\n');
}
