/**
 * Synthesis overhead: the same 1,000 workloads synthesized plain and with shared memory, each
 * synthesis in a fresh process (bench/synth-worker.ts), variants interleaved and repeated, medians.
 */
import { execFile } from 'child_process';
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { median } from './load';
import { ROOT, SCRATCH } from './servers';
import { SynthTiming, Variant, Way } from './synth-worker';

const WORKER = path.join(__dirname, 'synth-worker.ts');

export interface SynthComparison {
  readonly name: string;
  readonly way: Way;
  readonly baseline: Variant;
  readonly variant: Variant;
  readonly count: number;
  readonly repeats: number;
  /** Medians, milliseconds. */
  readonly baselineTotalMs: number;
  readonly variantTotalMs: number;
  readonly baselineSynthMs: number;
  readonly variantSynthMs: number;
  /** Median of the per-repeat ratios variant / baseline (each pair ran back to back). */
  readonly totalRatio: number;
  readonly synthRatio: number;
  readonly shmMounts: number;
}

/** A manifest of `count` Deployments as `Include` would read it from a chart's vendored YAML. */
export function writeManifest(count: number): string {
  mkdirSync(SCRATCH, { recursive: true });
  const file = path.join(SCRATCH, `include-${count}.yaml`);
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const containers = ['app', 'proxy'].map((name, c) => ({
      name,
      image: `registry.example.com/vendor/${name}:${i % 7}.${c}.0`,
      ports: [{ containerPort: 8080 + c, name: `http-${c}` }],
      env: [{ name: 'LOG_FORMAT', value: 'json' }, { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
      resources: { requests: { cpu: '100m', memory: c === 0 ? '1Gi' : '128Mi' }, limits: { memory: c === 0 ? '2Gi' : '256Mi' } },
      volumeMounts: [{ name: 'config', mountPath: '/etc/app' }],
    }));
    docs.push(JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `vendor-${i}`, labels: { app: `vendor-${i}` } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: `vendor-${i}` } },
        template: {
          metadata: { labels: { app: `vendor-${i}` } },
          spec: { containers, volumes: [{ name: 'config', configMap: { name: `vendor-${i}` } }] },
        },
      },
    }));
  }
  writeFileSync(file, docs.join('\n---\n') + '\n');
  return file;
}

/**
 * One synthesis in a fresh process.
 * @param lib another build of the library to load instead of lib/ (for before/after comparisons)
 */
export function runSynthWorker(variant: Variant, way: Way, count: number, includeFile: string, lib?: string): Promise<SynthTiming> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-r', 'ts-node/register/transpile-only', WORKER, variant, way, String(count), includeFile], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, 'tsconfig.json'), ...(lib ? { CDK8S_SHM_BENCH_LIB: lib } : {}) },
      maxBuffer: 16 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`synth worker ${variant} failed: ${error.message}\n${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as SynthTiming);
    });
  });
}

export async function runSynthBenchmarks(count: number, repeats: number, progress: (line: string) => void): Promise<SynthComparison[]> {
  const includeFile = writeManifest(count);
  const pairs: Array<{ name: string; baseline: Variant; variant: Variant; way: Way }> = (['synthYaml', 'testing'] as const).flatMap(way => [
    { name: `${way}: ${count} cdk8s-plus Deployments: SharedMemory.addTo vs plain`, baseline: 'plain' as const, variant: 'addTo' as const, way },
    { name: `${way}: the same, vs plain with the same YAML written by hand`, baseline: 'floor' as const, variant: 'addTo' as const, way },
    { name: `${way}: Include of ${count} Deployments: applyToChart vs plain`, baseline: 'include' as const, variant: 'applyToChart' as const, way },
  ]);
  const comparisons: SynthComparison[] = [];
  for (const pair of pairs) {
    const base: SynthTiming[] = [];
    const withShm: SynthTiming[] = [];
    for (let r = 0; r < repeats; r++) {
      // Alternate which goes first, so a drift in machine load does not favour one side.
      if (r % 2 === 0) {
        base.push(await runSynthWorker(pair.baseline, pair.way, count, includeFile));
        withShm.push(await runSynthWorker(pair.variant, pair.way, count, includeFile));
      } else {
        withShm.push(await runSynthWorker(pair.variant, pair.way, count, includeFile));
        base.push(await runSynthWorker(pair.baseline, pair.way, count, includeFile));
      }
      progress(`  ${pair.variant} ${withShm[r].totalMs.toFixed(0)} ms vs ${pair.baseline} ${base[r].totalMs.toFixed(0)} ms`);
    }
    const mounts = withShm[0].shmMounts;
    if (mounts < count) throw new Error(`${pair.variant} mounted /dev/shm ${mounts} times for ${count} workloads`);
    const expectedBase = pair.baseline === 'floor' ? count : 0;
    if (base[0].shmMounts !== expectedBase) throw new Error(`${pair.baseline} mounts /dev/shm ${base[0].shmMounts} times, not ${expectedBase}`);
    comparisons.push({
      ...pair,
      count,
      repeats,
      baselineTotalMs: median(base.map(t => t.totalMs)),
      variantTotalMs: median(withShm.map(t => t.totalMs)),
      baselineSynthMs: median(base.map(t => t.synthMs)),
      variantSynthMs: median(withShm.map(t => t.synthMs)),
      totalRatio: median(withShm.map((t, i) => t.totalMs / base[i].totalMs)),
      synthRatio: median(withShm.map((t, i) => t.synthMs / base[i].synthMs)),
      shmMounts: mounts,
    });
  }
  return comparisons;
}
