/**
 * Pod creation through a real API server, for `npm run bench`: the latency a client sees for
 * `POST /api/v1/namespaces/NS/pods` when the MutatingAdmissionPolicy sizes the pod, when the
 * webhook does, when a no-op of each kind runs (the honest floor of that kind), and when neither
 * does; for pods the rule sizes, pods that need nothing, and a mix (bench/admission-pods.ts).
 *
 * It runs on the e2e control plane (etcd, kube-apiserver and kube-controller-manager of
 * Kubernetes 1.36, built once from the Go module proxy by e2e/kube/build.sh and cached outside the
 * clone), so it needs Go; elsewhere it is skipped. Every way in (bench/admission-deliveries.ts)
 * stays registered for the whole run and acts in its own namespace, so every measurement
 * alternates between them, in a different order each round, over the same keep-alive connections.
 * Around each measurement the API server's /metrics are scraped (bench/admission-metrics.ts): its
 * own time in the admission steps, per plugin, per policy and per webhook, and how often it called
 * each; and each webhook server's own time per request (ours from its metrics, the no-op's from its
 * /stats).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import { CostFigures, costReport, policyCosts } from './admission-cost';
import { Delivery, WayIn, deliveriesOf, registerDeliveries } from './admission-deliveries';
import { SeriesDelta, difference, scrapeMetrics, seriesOf } from './admission-metrics';
import { POPULATIONS, Population, bodiesOf, unexpected } from './admission-pods';
import { median } from './load';
import { ControlPlaneState, buildKube, startControlPlane } from '../test/e2e/support/control-plane';
import { Kube } from '../test/e2e/support/kube';

export interface AdmissionCell {
  readonly wayIn: WayIn;
  readonly population: Population;
  readonly concurrency: number;
  /** Medians over the rounds of each round's p50 and p99 (ms), and of its pods per second. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly podsPerSecond: number;
  /** p50 minus the p50 of `neither` in the same round, median over the rounds (ms). */
  readonly addedP50Ms: number;
  /** The no-op of the same kind: ours' added p50 over its added p50, and ours' pods/s over its pods/s (medians of both). */
  readonly vsFloor?: { readonly addedP50: number; readonly podsPerSecond: number };
  /** The API server's own figures, ms per pod created (medians over the rounds). */
  readonly server: ServerFigures;
}

/** From the API server's /metrics: milliseconds per pod created in the measurement. */
export interface ServerFigures {
  /** `apiserver_admission_step_admission_duration_seconds`, type admit (every mutating plugin). */
  readonly admitStepMs: number;
  /** The same, type validate. */
  readonly validateStepMs: number;
  /** The way in's own series: its policies' check durations, or its webhook's call. */
  readonly ownMs: number;
  /**
   * Observations of those series per pod: a mutating policy's evaluations (a policy that changed
   * the pod is evaluated again when the API server re-invokes the policies, `IfNeeded`), a
   * validating policy's, or the webhook's calls.
   */
  readonly ownCalls: number;
  /** The webhook server's own time per pod, from a request's headers to its answer (its metrics; the no-op's /stats); undefined for the others. */
  readonly webhookServerMs?: number;
}

export interface AdmissionFigures {
  readonly kubernetes: string;
  readonly podsPerCell: number;
  readonly rounds: number;
  readonly before?: string;
  readonly cells: readonly AdmissionCell[];
  /** The CEL cost of the policies for each pod kind (bench/admission-cost.ts). */
  readonly cost: CostFigures;
}

interface Run {
  readonly p50: number;
  readonly p99: number;
  readonly rate: number;
  readonly server: ServerFigures;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Creates `count` pods in `namespace`, `concurrency` at a time, cycling through `bodies`; the latency of each, in ms. */
async function createPods(
  cluster: ControlPlaneState, agent: https.Agent, namespace: string, bodies: readonly string[], count: number, concurrency: number,
): Promise<number[]> {
  const url = new URL(`${cluster.server}/api/v1/namespaces/${namespace}/pods`);
  const post = (body: string) => new Promise<number>((resolve, reject) => {
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
      const body = bodies[started++ % bodies.length];
      latencies.push(await post(body));
    }
  }));
  return latencies;
}

/** The API server's figures for one measurement, per pod. */
function serverFigures(deltas: ReadonlyMap<string, SeriesDelta>, d: Delivery, pods: number): ServerFigures {
  const perPod = (delta: SeriesDelta) => (delta.seconds * 1000) / pods;
  const step = (type: string) => perPod(seriesOf(deltas, 'admission_step_admission_duration_seconds', ['operation="CREATE"', `type="${type}"`]));
  const series = d.kind === 'policy'
    ? d.seriesLabels.flatMap(label => ['mutating', 'validating'].map(kind => seriesOf(deltas, `${kind}_admission_policy_check_duration_seconds`, [label])))
    : d.kind === 'webhook' ? [seriesOf(deltas, 'admission_webhook_admission_duration_seconds', [d.seriesLabels[0]])] : [];
  return {
    admitStepMs: step('admit'),
    validateStepMs: step('validate'),
    ownMs: series.map(perPod).reduce((a, b) => a + b, 0),
    ownCalls: series.map(delta => delta.count / pods).reduce((a, b) => a + b, 0),
  };
}

/** Every pod was left or sized as its way in does. */
async function checkPods(admin: Kube, deliveries: readonly Delivery[]): Promise<void> {
  for (const d of deliveries) {
    const pods = await admin.list('pods', d.namespace);
    const wrong = pods.map(p => unexpected(p, d.sizes)).filter(w => w !== undefined);
    if (wrong.length > 0) throw new Error(`${d.wayIn}: ${wrong.length} of ${pods.length} pods not as expected, e.g. ${wrong.slice(0, 3).join('; ')}`);
  }
}

export interface AdmissionOptions {
  readonly podsPerCell: number;
  readonly rounds: number;
  /** `lib/` of another build, to measure its policy and webhook beside these. */
  readonly beforeLib?: string;
}

/**
 * Every way in on one control plane: `podsPerCell` pods per way in, population, concurrency and round.
 * @returns undefined (with the reason logged) where the control plane cannot be built
 */
export async function runAdmissionBenchmarks(options: AdmissionOptions, log: (line: string) => void): Promise<AdmissionFigures | undefined> {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    log('pod creation through the API server: skipped (no Go to build the control plane; see e2e/kube/build.sh)');
    return undefined;
  }
  const { podsPerCell, rounds } = options;
  log('pod creation through the API server: the CEL cost of the policies ...');
  const cost = policyCosts(options.beforeLib);
  log('pod creation through the API server: building (once, cached) and starting the control plane ...');
  const cluster = await startControlPlane({ binDir: buildKube() });
  const admin = new Kube(cluster, cluster.adminKubeconfig, 'admin');
  const auth = { ca: cluster.caPem, cert: fs.readFileSync(cluster.adminCertFile), key: fs.readFileSync(cluster.adminKeyFile) };
  const metricsAgent = new https.Agent({ keepAlive: true, maxSockets: 1, ...auth });
  const metrics = () => scrapeMetrics(cluster.server, metricsAgent);
  const deliveries = deliveriesOf(options.beforeLib !== undefined);
  let unregister: (() => Promise<void>) | undefined;
  try {
    const registered = await registerDeliveries(deliveries, { admin, metrics, beforeLib: options.beforeLib });
    unregister = registered.unregister;
    const webhookServer = async (d: Delivery) => registered.serverTimes.get(d.wayIn)?.();
    const concurrencies = [1, 8];
    const agents = new Map(concurrencies.map(c => [c, new https.Agent({ keepAlive: true, maxSockets: c, ...auth })]));
    const bodies = new Map(POPULATIONS.map(p => [p, bodiesOf(p)]));
    // Warm up every path (the policies' compiled programs, the webhooks' JIT, the connections).
    for (const d of deliveries) {
      for (const p of POPULATIONS) {
        for (const c of concurrencies) await createPods(cluster, agents.get(c)!, d.namespace, bodies.get(p)!, Math.min(50, podsPerCell), c);
      }
    }

    const runs = new Map<string, Run[]>();
    for (let round = 0; round < rounds; round++) {
      for (const c of concurrencies) {
        for (const p of POPULATIONS) {
          // A different order each round: none of the ways in always runs first.
          const order = deliveries.map((_d, i) => deliveries[(i + round) % deliveries.length]);
          for (const d of order) {
            const [before, serverBefore] = [await metrics(), await webhookServer(d)];
            const started = performance.now();
            const latencies = await createPods(cluster, agents.get(c)!, d.namespace, bodies.get(p)!, podsPerCell, c);
            const seconds = (performance.now() - started) / 1000;
            const serverAfter = await webhookServer(d);
            const server = {
              ...serverFigures(difference(before, await metrics()), d, podsPerCell),
              webhookServerMs: serverBefore && serverAfter ? ((serverAfter.seconds - serverBefore.seconds) * 1000) / podsPerCell : undefined,
            };
            const key = `${d.wayIn}/${p}/${c}`;
            const run = { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), rate: podsPerCell / seconds, server };
            runs.set(key, [...runs.get(key) ?? [], run]);
          }
        }
        log(`pod creation through the API server: round ${round + 1} of ${rounds}, ${c} at a time: done`);
      }
    }
    for (const agent of [...agents.values(), metricsAgent]) agent.destroy();
    await checkPods(admin, deliveries);
    return { kubernetes: cluster.version, podsPerCell, rounds, before: options.beforeLib, cells: cellsOf(deliveries, runs, concurrencies), cost };
  } finally {
    await unregister?.().catch(() => undefined);
    await cluster.stop();
  }
}

/** The medians of each way in, population and concurrency, and the comparisons with neither and the no-op of the same kind. */
function cellsOf(deliveries: readonly Delivery[], runs: ReadonlyMap<string, Run[]>, concurrencies: readonly number[]): AdmissionCell[] {
  return concurrencies.flatMap(c => POPULATIONS.flatMap(p => {
    const of = (wayIn: WayIn) => runs.get(`${wayIn}/${p}/${c}`)!;
    const neither = of('neither');
    const added = (wayIn: WayIn) => median(of(wayIn).map((r, i) => r.p50 - neither[i].p50));
    const rate = (wayIn: WayIn) => median(of(wayIn).map(r => r.rate));
    return deliveries.map((d): AdmissionCell => {
      const mine = of(d.wayIn);
      return {
        wayIn: d.wayIn,
        population: p,
        concurrency: c,
        p50Ms: median(mine.map(r => r.p50)),
        p99Ms: median(mine.map(r => r.p99)),
        podsPerSecond: rate(d.wayIn),
        addedP50Ms: added(d.wayIn),
        vsFloor: d.floor ? { addedP50: added(d.wayIn) / added(d.floor), podsPerSecond: rate(d.wayIn) / rate(d.floor) } : undefined,
        server: {
          admitStepMs: median(mine.map(r => r.server.admitStepMs)),
          validateStepMs: median(mine.map(r => r.server.validateStepMs)),
          ownMs: median(mine.map(r => r.server.ownMs)),
          ownCalls: median(mine.map(r => r.server.ownCalls)),
          webhookServerMs: mine[0].server.webhookServerMs === undefined ? undefined : median(mine.map(r => r.server.webhookServerMs!)),
        },
      };
    });
  }));
}

/** The report's section. */
export function admissionReport(figures: AdmissionFigures, table: (headers: string[], rows: string[][]) => string): string {
  const f2 = (n: number) => n.toFixed(2);
  const f3 = (n: number) => n.toFixed(3);
  const lines = [
    `## 6. Pod creation through the API server (Kubernetes ${figures.kubernetes}; ${figures.podsPerCell} pods per cell and round; medians of ${figures.rounds} rounds`
      + `${figures.before ? `; before: ${figures.before}` : ''})`,
    '',
    'added: p50 minus the p50 of neither in the same round; x floor: added p50 over the no-op of the same kind\'s, and pods/s over its pods/s;',
    'admit / validate / own: the API server\'s own time per pod created (admission steps; the way in\'s policies or webhook call), ms;',
    'calls: the way in\'s evaluations (each policy\'s, re-invocations included) or webhook calls per pod;',
    'in server: the webhook server\'s own time per pod, from a request\'s headers to its answer (its metrics; the no-op\'s /stats), ms.',
  ];
  for (const p of POPULATIONS) {
    lines.push('', `### ${p}`, '');
    lines.push(table(
      ['way in', 'at a time', 'p50 (ms)', 'p99 (ms)', 'pods/s', 'added p50 (ms)', 'x floor: added p50', 'x floor: pods/s', 'admit (ms)', 'validate (ms)', 'own (ms)', 'calls', 'in server (ms)'],
      figures.cells.filter(c => c.population === p).map(c => [
        c.wayIn, String(c.concurrency), f2(c.p50Ms), f2(c.p99Ms), c.podsPerSecond.toFixed(0), c.wayIn === 'neither' ? '-' : f2(c.addedP50Ms),
        c.vsFloor ? f2(c.vsFloor.addedP50) : '-', c.vsFloor ? f2(c.vsFloor.podsPerSecond) : '-',
        f3(c.server.admitStepMs), f3(c.server.validateStepMs), c.wayIn === 'neither' ? '-' : f3(c.server.ownMs),
        c.wayIn === 'neither' ? '-' : f2(c.server.ownCalls), c.server.webhookServerMs === undefined ? '-' : f3(c.server.webhookServerMs),
      ]),
    ));
  }
  lines.push('', costReport(figures.cost, table));
  return lines.join('\n');
}
