/**
 * `npm run bench`: the webhook against a bare HTTPS floor, the synthesis overhead of SharedMemory,
 * and the webhook's footprint, in one run on this machine. Prints tables and writes the figures as
 * JSON to .tmp/bench/latest.json (gitignored).
 *
 * These machines have 2 cores and noisy neighbours, so absolute figures drift: the two servers run
 * side by side in the same run, each measurement alternates which goes first, everything is
 * repeated, and the report gives medians and ratios.
 *
 * Flags: --smoke (a few seconds, for CI: same tables, tiny samples), --skip-webhook, --skip-synth,
 * --skip-inject, --skip-csi (the CSI node plugin's publishes and memory; it needs root and unshare),
 * --skip-admission (pod creation through a real API server with the admission policy, the webhook,
 * a no-op of each or neither; it needs Go), --only webhook|synth|inject|csi|admission (that one
 * alone); for the inject row, --inject-cli FILE (another build of the CLI bundle, to compare) and
 * --inject-repeats N; for pod creation, --admission-rounds N (default 5) and --before LIB_DIR (the
 * policy and webhook of another build of lib/, inside the clone so that it resolves the same
 * cdk8s, measured beside these).
 */
import { execSync } from 'child_process';
import { existsSync, mkdirSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AdmissionFigures, admissionReport, runAdmissionBenchmarks } from './admission';
import { CsiFigures, runCsiBenchmarks } from './csi-plugin';
import { CLI_BUNDLE, InjectReport, runInjectBenchmarks } from './inject';
import { LoadResult, median, runLoad } from './load';
import { Payload, largePayload, typicalPayload } from './payloads';
import {
  SCRATCH, ServerKind, ServerProcess, Tls, WEBHOOK_BUNDLE, makeTls, postForJson, residentMemory, sampleResidentMemory, startServer,
} from './servers';
import { SynthComparison, runSynthBenchmarks } from './synth';
import { WEBHOOK_NODE_FLAGS } from '../src/contracts/webhook-flags';

interface Settings {
  readonly smoke: boolean;
  /** Seconds per load measurement. */
  readonly seconds: number;
  /** Seconds of unmeasured load before each payload and connection count. */
  readonly warmupSeconds: number;
  readonly repeats: number;
  readonly startRepeats: number;
  readonly synthCount: number;
  readonly synthRepeats: number;
  /** Bytes of the small inject input (the large one is eight of it). */
  readonly injectBytes: number;
  readonly injectRepeats: number;
}

const FULL: Settings = {
  smoke: false,
  seconds: 3,
  warmupSeconds: 1.5,
  repeats: 5,
  startRepeats: 7,
  synthCount: 1000,
  synthRepeats: 5,
  injectBytes: 6_000_000,
  injectRepeats: 3,
};
const SMOKE: Settings = {
  smoke: true,
  seconds: 0.5,
  warmupSeconds: 0.25,
  repeats: 1,
  startRepeats: 1,
  synthCount: 50,
  synthRepeats: 1,
  injectBytes: 200_000,
  injectRepeats: 1,
};
const CONNECTIONS = [1, 50];

const TARGETS = {
  throughputRatio: 0.8,
  p99Ratio: 2,
  synthRatio: 1.15,
  rssUnderLoadMiB: 80,
  firstAnswerMs: 300,
  /** inject's CPU time against the floor's, and its CPU time per byte at 48 MB against 6 MB (linear: 1). */
  injectCpuRatio: 1.5,
  injectScaling: 1.25,
  /** inject's peak RSS at 48 MB against the floor's, which holds the whole input and output. */
  injectRssRatio: 1,
};

interface LoadCell {
  readonly payload: string;
  readonly payloadBytes: number;
  readonly connections: number;
  readonly webhook: Summary;
  readonly floor: Summary;
  /** Medians of the per-repeat ratios webhook / floor (each pair ran back to back). */
  readonly rpsRatio: number;
  readonly p50Ratio: number;
  readonly p99Ratio: number;
  readonly failures: number;
  /** Largest RSS sampled (every 50 ms) while this cell's load ran, MiB. */
  readonly webhookPeakMiB: number;
  readonly floorPeakMiB: number;
}

interface Summary {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly runs: LoadResult[];
}

/** The webhook's memory under steady load with other V8 heap settings, and what they cost in throughput. */
interface HeapVariant {
  readonly name: string;
  readonly nodeArgs: string[];
  readonly peakMiB: number;
  readonly rps: number;
}

/**
 * V8 heap settings to compare: none (the bundle as `node` runs it), the old-space cap alone, and the
 * flags the SharedMemoryWebhook construct sets (WEBHOOK_NODE_FLAGS: the cap plus a small young
 * generation, which is what grows the heap under a high allocation rate).
 */
const HEAP_VARIANTS: Array<{ name: string; nodeArgs: string[] }> = [
  { name: 'no flags', nodeArgs: [] },
  { name: '--max-old-space-size=96', nodeArgs: ['--max-old-space-size=96'] },
  { name: `${WEBHOOK_NODE_FLAGS.join(' ')} (the construct)`, nodeArgs: [...WEBHOOK_NODE_FLAGS] },
];

async function heapVariants(settings: Settings, tls: Tls, payload: Payload): Promise<HeapVariant[]> {
  const servers = [];
  for (const variant of HEAP_VARIANTS) servers.push({ ...variant, server: await startServer('webhook', tls, payload.body, { nodeArgs: variant.nodeArgs }) });
  const results: Array<{ peaks: number[]; rps: number[] }> = servers.map(() => ({ peaks: [], rps: [] }));
  try {
    for (const { server } of servers) await runLoad(server.port, payload, 50, settings.warmupSeconds);
    for (let r = 0; r < settings.repeats; r++) {
      for (let i = 0; i < servers.length; i++) {
        const k = r % 2 === 0 ? i : servers.length - 1 - i;
        const sampler = sampleResidentMemory(servers[k].server.child.pid!);
        results[k].rps.push((await runLoad(servers[k].server.port, payload, 50, settings.seconds)).rps);
        results[k].peaks.push(sampler.stop());
      }
    }
  } finally {
    for (const { server } of servers) await server.stop();
  }
  return servers.map((s, i) => ({ name: s.name, nodeArgs: s.nodeArgs, peakMiB: Math.max(...results[i].peaks), rps: median(results[i].rps) }));
}

interface Footprint {
  readonly webhookIdleMiB: number;
  readonly floorIdleMiB: number;
  readonly webhookPeakUnderLoadMiB: number;
  readonly floorPeakUnderLoadMiB: number;
  readonly webhookHighWaterMiB: number;
  readonly webhookIdleAfterLoadMiB: number;
  readonly webhookFirstAnswerMs: number;
  readonly floorFirstAnswerMs: number;
  readonly firstAnswerRuns: { webhook: number[]; floor: number[] };
  /** Typical payload, 50 connections. */
  readonly heapVariants: HeapVariant[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

function machine(): Record<string, string> {
  const lscpu = (() => {
    try {
      return execSync('lscpu', { encoding: 'utf8' });
    } catch {
      return '';
    }
  })();
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(lscpu)?.[1]?.trim() ?? '?';
  return {
    date: new Date().toISOString(),
    node: process.version,
    nproc: String(os.availableParallelism?.() ?? os.cpus().length),
    cpu: field('Model name'),
    hypervisor: field('Hypervisor vendor'),
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    loadAverage: os.loadavg().map(l => l.toFixed(2)).join(' '),
  };
}

/** Both servers answer the payload as expected: the webhook injects, the floor allows. */
async function checkAnswers(servers: Record<ServerKind, ServerProcess>, payloads: Payload[]): Promise<void> {
  for (const payload of payloads) {
    const uid = JSON.parse(payload.body).request.uid;
    const webhook = await postForJson(servers.webhook.port, payload.body);
    if (webhook.response?.uid !== uid || webhook.response?.patchType !== 'JSONPatch') {
      throw new Error(`the webhook did not inject into the ${payload.name} pod: ${JSON.stringify(webhook).slice(0, 300)}`);
    }
    const floor = await postForJson(servers.floor.port, payload.body);
    if (floor.response?.uid !== uid || floor.response?.allowed !== true) throw new Error(`the floor answered ${JSON.stringify(floor)}`);
  }
}

async function webhookVsFloor(settings: Settings, tls: Tls, payloads: Payload[]): Promise<{ cells: LoadCell[]; footprint: Footprint }> {
  // Start-up: fresh processes, alternating, timed from spawn() to the first answered review.
  const firstAnswerRuns = { webhook: [] as number[], floor: [] as number[] };
  for (let r = 0; r < settings.startRepeats; r++) {
    for (const kind of (r % 2 === 0 ? ['webhook', 'floor'] : ['floor', 'webhook']) as ServerKind[]) {
      const server = await startServer(kind, tls, payloads[0].body);
      firstAnswerRuns[kind].push(server.firstAnswerMs);
      await server.stop();
    }
  }
  log(`first answer: webhook ${firstAnswerRuns.webhook.map(v => v.toFixed(0)).join(' ')} ms; floor ${firstAnswerRuns.floor.map(v => v.toFixed(0)).join(' ')} ms`);

  const servers = {
    webhook: await startServer('webhook', tls, payloads[0].body),
    floor: await startServer('floor', tls, payloads[0].body),
  };
  try {
    await checkAnswers(servers, payloads);
    // Idle: one answered request behind it and a second to settle.
    await sleep(settings.smoke ? 100 : 1000);
    const webhookIdleMiB = residentMemory(servers.webhook.child.pid!).rssMiB;
    const floorIdleMiB = residentMemory(servers.floor.child.pid!).rssMiB;

    const peaks = { webhook: 0, floor: 0 };
    const cells: LoadCell[] = [];
    for (const payload of payloads) {
      for (const connections of CONNECTIONS) {
        const cellPeaks = { webhook: 0, floor: 0 };
        for (const kind of ['webhook', 'floor'] as ServerKind[]) {
          await runLoad(servers[kind].port, payload, connections, settings.warmupSeconds);
        }
        const runs: Record<ServerKind, LoadResult[]> = { webhook: [], floor: [] };
        for (let r = 0; r < settings.repeats; r++) {
          const order: ServerKind[] = r % 2 === 0 ? ['webhook', 'floor'] : ['floor', 'webhook'];
          for (const kind of order) {
            const sampler = sampleResidentMemory(servers[kind].child.pid!);
            runs[kind].push(await runLoad(servers[kind].port, payload, connections, settings.seconds));
            cellPeaks[kind] = Math.max(cellPeaks[kind], sampler.stop());
            peaks[kind] = Math.max(peaks[kind], cellPeaks[kind]);
          }
        }
        const summary = (results: LoadResult[]): Summary => ({
          rps: median(results.map(x => x.rps)),
          p50: median(results.map(x => x.p50)),
          p99: median(results.map(x => x.p99)),
          runs: results,
        });
        const ratio = (pick: (x: LoadResult) => number) => median(runs.webhook.map((w, i) => pick(w) / pick(runs.floor[i])));
        const cell: LoadCell = {
          payload: payload.name,
          payloadBytes: payload.bytes,
          connections,
          webhook: summary(runs.webhook),
          floor: summary(runs.floor),
          rpsRatio: ratio(x => x.rps),
          p50Ratio: ratio(x => x.p50),
          p99Ratio: ratio(x => x.p99),
          failures: [...runs.webhook, ...runs.floor].reduce((sum, x) => sum + x.failures, 0),
          webhookPeakMiB: cellPeaks.webhook,
          floorPeakMiB: cellPeaks.floor,
        };
        cells.push(cell);
        log(`${payload.name} x${connections}: webhook ${cell.webhook.rps.toFixed(0)} req/s, floor ${cell.floor.rps.toFixed(0)} req/s, ratio ${cell.rpsRatio.toFixed(2)}`);
      }
    }
    await sleep(settings.smoke ? 100 : 2000);
    const after = residentMemory(servers.webhook.child.pid!);
    await servers.webhook.stop();
    await servers.floor.stop();
    const heap = await heapVariants(settings, tls, payloads[0]);
    return {
      cells,
      footprint: {
        webhookIdleMiB,
        floorIdleMiB,
        webhookPeakUnderLoadMiB: peaks.webhook,
        floorPeakUnderLoadMiB: peaks.floor,
        webhookHighWaterMiB: after.hwmMiB,
        webhookIdleAfterLoadMiB: after.rssMiB,
        webhookFirstAnswerMs: median(firstAnswerRuns.webhook),
        floorFirstAnswerMs: median(firstAnswerRuns.floor),
        firstAnswerRuns,
        heapVariants: heap,
      },
    };
  } finally {
    await servers.webhook.stop();
    await servers.floor.stop();
  }
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(headers), `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const f3 = (n: number) => n.toFixed(3);

function report(settings: Settings, info: Record<string, string>, payloads: Payload[], tls: Tls,
  load?: { cells: LoadCell[]; footprint: Footprint }, synth?: SynthComparison[], inject?: InjectReport, csi?: CsiFigures,
  admission?: AdmissionFigures): string {
  const out: string[] = [];
  out.push(`# cdk8s-shm benchmarks${settings.smoke ? ' (SMOKE: tiny samples, figures not meaningful)' : ''}`);
  out.push('');
  out.push(`date ${info.date}; node ${info.node}; ${info.nproc} CPUs (${info.cpu}, ${info.hypervisor}); ${info.memoryGiB} GiB; Linux ${info.kernel}; load average at start ${info.loadAverage}`);
  out.push(`settings: ${settings.repeats} repeats x ${settings.seconds} s per cell (after ${settings.warmupSeconds} s warm-up), ${settings.startRepeats} starts, ${settings.synthRepeats} synth repeats of ${settings.synthCount} workloads, ${settings.injectRepeats} inject repeats`);
  out.push(`payloads: ${payloads.map(p => `${p.name} ${(p.bytes / 1024).toFixed(1)} KiB (${p.description})`).join('; ')}`);
  out.push(`TLS: ${tls.description}; keep-alive; load generator autocannon in the benchmark process, each server in its own node process`);
  if (load) {
    out.push('');
    out.push('## 1. Webhook vs floor (medians; ratios are medians of back-to-back pairs)');
    out.push('');
    out.push(table(
      ['payload', 'conns', 'webhook req/s', 'floor req/s', 'ratio', 'webhook p50 ms', 'floor p50 ms', 'webhook p99 ms', 'floor p99 ms', 'p99 ratio', 'target'],
      load.cells.map(c => [
        c.payload, String(c.connections), f0(c.webhook.rps), f0(c.floor.rps), f2(c.rpsRatio),
        f3(c.webhook.p50), f3(c.floor.p50), f3(c.webhook.p99), f3(c.floor.p99), f2(c.p99Ratio),
        verdict(c.rpsRatio >= TARGETS.throughputRatio && c.p99Ratio <= TARGETS.p99Ratio) + (c.failures > 0 ? ` (${c.failures} failed requests)` : ''),
      ]),
    ));
  }
  if (synth) {
    out.push('');
    out.push('## 2. Synthesis overhead (fresh process per synthesis, medians; ratio = median of back-to-back pairs)');
    out.push('');
    out.push(table(
      ['comparison', 'baseline ms', 'shm ms', 'ratio', 'synthesis only: baseline ms', 'shm ms', 'ratio', 'target'],
      synth.map(s => [
        s.name, f0(s.baselineTotalMs), f0(s.variantTotalMs), f2(s.totalRatio),
        f0(s.baselineSynthMs), f0(s.variantSynthMs), f2(s.synthRatio), `<= ${TARGETS.synthRatio}: ${verdict(s.totalRatio <= TARGETS.synthRatio)}`,
      ]),
    ));
    out.push('');
    out.push('"ms" is building the constructs plus the synthesis (app.synthYaml(), or Testing.synth() without YAML); module loading is excluded,');
    out.push('the same for both. "synthesis only" leaves out building the constructs. The hand-written baseline has the same YAML as addTo.');
  }
  if (load) {
    const fp = load.footprint;
    out.push('');
    out.push('## 3. Footprint');
    out.push('');
    out.push(table(['measure', 'webhook', 'floor', 'target'], [
      ['RSS idle (MiB)', f0(fp.webhookIdleMiB), f0(fp.floorIdleMiB), ''],
      ...load.cells.map(c => [`RSS peak under load, ${c.payload} x${c.connections} (MiB)`, f0(c.webhookPeakMiB), f0(c.floorPeakMiB),
        `< ${TARGETS.rssUnderLoadMiB}: ${verdict(c.webhookPeakMiB < TARGETS.rssUnderLoadMiB)}`]),
      ['RSS high-water mark, VmHWM (MiB)', f0(fp.webhookHighWaterMiB), '', ''],
      ['RSS idle after load (MiB)', f0(fp.webhookIdleAfterLoadMiB), '', ''],
      ['start to first answer (ms, median)', f0(fp.webhookFirstAnswerMs), f0(fp.floorFirstAnswerMs), `<= ${TARGETS.firstAnswerMs}: ${verdict(fp.webhookFirstAnswerMs <= TARGETS.firstAnswerMs)}`],
    ]));
    out.push('');
    out.push('Webhook RSS by V8 heap flags (typical payload, 50 connections):');
    out.push('');
    out.push(table(['node flags', 'RSS peak MiB', 'req/s', 'target'], fp.heapVariants.map(v => [
      v.name, f0(v.peakMiB), f0(v.rps), `< ${TARGETS.rssUnderLoadMiB}: ${verdict(v.peakMiB < TARGETS.rssUnderLoadMiB)}`,
    ])));
  }
  if (inject) {
    const large = inject.cells[inject.cells.length - 1];
    out.push('');
    out.push(`## 4. inject at scale (${inject.cli}; fresh process per run, medians; ratios are medians of back-to-back pairs)`);
    out.push('');
    out.push(table(
      ['input', 'inject MB/s (CPU)', 'floor MB/s (CPU)', 'CPU ratio', 'inject MB/s (wall)', 'floor MB/s (wall)', 'wall ratio', 'inject peak RSS MiB', 'floor peak RSS MiB', 'RSS ratio', 'target'],
      inject.cells.map(c => [
        c.name, f2(c.inject.cpuMBps), f2(c.floor.cpuMBps), f2(c.cpuRatio), f2(c.inject.wallMBps), f2(c.floor.wallMBps), f2(c.wallRatio),
        f0(c.inject.maxRssMiB), f0(c.floor.maxRssMiB), f2(c.rssRatio),
        `CPU <= ${TARGETS.injectCpuRatio}: ${verdict(c.cpuRatio <= TARGETS.injectCpuRatio)}`
        + (c === large ? `; RSS <= ${TARGETS.injectRssRatio}: ${verdict(c.rssRatio <= TARGETS.injectRssRatio)}` : ''),
      ]),
    ));
    out.push('');
    out.push(`CPU time per byte, ${large.name} over ${inject.cells[0].name}: inject ${f2(inject.cpuScaling)}, floor ${f2(inject.floorCpuScaling)} `
      + `(<= ${TARGETS.injectScaling}: ${verdict(inject.cpuScaling <= TARGETS.injectScaling)}; 1 is linear).`);
    out.push('The floor parses every document with the same yaml library and options and prints it again; inject plans, patches and prints');
    out.push('the workloads and copies everything else. MB = 10^6 bytes of input.');
    out.push(`Input: ${inject.corpus}; workload pieces repeated to the charts' weight, then the whole repeated to size.`);
  }
  if (csi) {
    out.push('');
    out.push(`## 5. CSI node plugin (${csi.pairs} publish/unpublish pairs, one at a time, real mounts; NODE_OPTIONS=${csi.nodeFlags})`);
    out.push('');
    out.push(table(['measure', 'value'], [
      ['start to serving, tmpfs mounted (ms)', f0(csi.startMs)],
      ['NodePublishVolume p50 / p99 (ms)', `${f1(csi.publishP50Ms)} / ${f1(csi.publishP99Ms)}`],
      ['NodeUnpublishVolume p50 / p99 (ms)', `${f1(csi.unpublishP50Ms)} / ${f1(csi.unpublishP99Ms)}`],
      ['RSS idle (MiB)', f0(csi.idleMiB)],
      ['RSS after the pairs / VmHWM (MiB)', `${f0(csi.afterMiB)} / ${f0(csi.highWaterMiB)}`],
    ]));
  }
  if (admission) out.push('', admissionReport(admission, table));
  return out.join('\n');
}

/** The value of `--name VALUE`, if given. */
function flagValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const base = args.includes('--smoke') ? SMOKE : FULL;
  const injectRepeats = flagValue(args, 'inject-repeats');
  const settings: Settings = { ...base, injectRepeats: injectRepeats === undefined ? base.injectRepeats : Number(injectRepeats) };
  const only = flagValue(args, 'only');
  if (only !== undefined && !['webhook', 'synth', 'inject', 'csi', 'admission'].includes(only)) throw new Error(`--only ${only}: give webhook, synth, inject, csi or admission`);
  const runs = (part: string) => (only === undefined ? !args.includes(`--skip-${part}`) : only === part);
  if (!existsSync(WEBHOOK_BUNDLE)) throw new Error(`${WEBHOOK_BUNDLE} is missing: run the compile task first (npm run bench does)`);
  mkdirSync(SCRATCH, { recursive: true });
  const info = machine();
  const tls = makeTls();
  const payloads = [typicalPayload(), largePayload()];

  const load = runs('webhook') ? await webhookVsFloor(settings, tls, payloads) : undefined;
  const synth = runs('synth') ? await runSynthBenchmarks(settings.synthCount, settings.synthRepeats, log) : undefined;
  const cli = path.resolve(flagValue(args, 'inject-cli') ?? CLI_BUNDLE);
  const inject = runs('inject') ? runInjectBenchmarks({ bytes: settings.injectBytes, repeats: settings.injectRepeats, cli }, log) : undefined;

  const csi = runs('csi') ? await runCsiBenchmarks(settings.smoke ? 20 : 500, log) : undefined;
  const admissionOptions = { podsPerCell: settings.smoke ? 10 : 200, rounds: settings.smoke ? 1 : Number(flagValue(args, 'admission-rounds') ?? 5), beforeLib: flagValue(args, 'before') };
  const admission = runs('admission') ? await runAdmissionBenchmarks(admissionOptions, log) : undefined;

  const text = report(settings, info, payloads, tls, load, synth, inject, csi, admission);
  process.stdout.write(`${text}\n`);
  const file = path.join(SCRATCH, settings.smoke ? 'smoke.json' : 'latest.json');
  const payloadInfo = payloads.map(p => ({ name: p.name, bytes: p.bytes, description: p.description }));
  const figures = { settings, machine: info, targets: TARGETS, payloads: payloadInfo, load, synth, inject, csi, admission };
  writeFileSync(file, JSON.stringify(figures, null, 2));
  log(`figures written to ${path.relative(process.cwd(), file)}`);
}

main().catch(error => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? error}\n`);
  process.exit(1);
});
