/**
 * `cdk8s-shm inject` at scale: rendered charts (test/programs/cli/corpus.ts: our chart rendered by the real
 * helm with every value set the chart tests use, the CLI fixtures, the examples' YAML) of about
 * 6 MB, and the same eight times over (48 MB), each run in a fresh process of the shipped bundle,
 * beside a floor that parses and prints the same YAML with the same library (bench/inject-floor.js,
 * bundled the same way). Pairs run back to back, alternating which goes first, repeated; CPU time
 * and peak RSS come from each process's own `process.resourceUsage()`.
 */
import { mkdirSync, statSync, writeFileSync } from 'fs';
import * as path from 'path';
import { buildSync } from 'esbuild';
import { median } from './load';
import { ROOT, SCRATCH } from './servers';
import { corpusOfSize, describeCorpus, repeatStream } from '../test/programs/cli/corpus';
import { NodeUsage, runNodeMeasured } from '../test/programs/cli/tools';

export const CLI_BUNDLE = path.join(ROOT, 'lib', 'bundle', 'cli.js');
const FLOOR_SOURCE = path.join(__dirname, 'inject-floor.js');

export interface InjectSettings {
  /** Bytes of the small input; the large one is eight of it. */
  readonly bytes: number;
  readonly repeats: number;
  /** The CLI bundle to measure (another build, to compare). */
  readonly cli: string;
}

/** Medians over the repeats (peak RSS: the largest). */
export interface InjectSummary {
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly maxRssMiB: number;
  /** Megabytes (10^6 bytes) of input per second of CPU time, and of wall time. */
  readonly cpuMBps: number;
  readonly wallMBps: number;
  readonly runs: NodeUsage[];
}

export interface InjectCell {
  readonly name: string;
  readonly bytes: number;
  readonly inject: InjectSummary;
  readonly floor: InjectSummary;
  /** Medians of the per-pair ratios inject / floor. */
  readonly cpuRatio: number;
  readonly wallRatio: number;
  /** Peak RSS, inject / floor. */
  readonly rssRatio: number;
}

export interface InjectReport {
  readonly cli: string;
  readonly corpus: string;
  readonly cells: InjectCell[];
  /** CPU time per byte of the large input over that of the small one (1 is linear). */
  readonly cpuScaling: number;
  readonly floorCpuScaling: number;
}

/** The floor as one minified file, as esbuild bundles the CLI, so that both load the same way. */
function buildFloor(): string {
  const outfile = path.join(SCRATCH, 'inject-floor.js');
  buildSync({
    entryPoints: [FLOOR_SOURCE], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, logLevel: 'warning',
  });
  return outfile;
}

function summary(runs: NodeUsage[], bytes: number): InjectSummary {
  const cpuMs = median(runs.map(r => r.cpuMs));
  const wallMs = median(runs.map(r => r.wallMs));
  const maxRssMiB = Math.max(...runs.map(r => r.maxRssMiB));
  return { cpuMs, wallMs, maxRssMiB, cpuMBps: bytes / 1e6 / (cpuMs / 1000), wallMBps: bytes / 1e6 / (wallMs / 1000), runs };
}

export function runInjectBenchmarks(settings: InjectSettings, log: (line: string) => void): InjectReport {
  mkdirSync(SCRATCH, { recursive: true });
  const floor = buildFloor();
  const small = corpusOfSize(settings.bytes);
  const inputs = [small, repeatStream(small, 8)].map((text, i) => {
    const file = path.join(SCRATCH, `inject-${i === 0 ? 'small' : 'large'}.yaml`);
    writeFileSync(file, text);
    return { file, bytes: statSync(file).size, name: `${(statSync(file).size / 1e6).toFixed(1)} MB` };
  });
  const out = path.join(SCRATCH, 'inject-out.yaml');
  const run = (kind: 'inject' | 'floor', file: string): NodeUsage => {
    const usage = kind === 'inject' ? runNodeMeasured(settings.cli, ['inject', '-q', '-f', file], out) : runNodeMeasured(floor, [file], out);
    if (usage.status !== 0) throw new Error(`${kind} failed on ${file}: ${usage.stderr}`);
    if (statSync(out).size < statSync(file).size * 0.9) throw new Error(`${kind} wrote only ${statSync(out).size} bytes for ${file}`);
    return usage;
  };

  const runs = inputs.map(() => ({ inject: [] as NodeUsage[], floor: [] as NodeUsage[] }));
  for (let r = 0; r < settings.repeats; r++) {
    inputs.forEach((input, i) => {
      const order: Array<'inject' | 'floor'> = r % 2 === 0 ? ['inject', 'floor'] : ['floor', 'inject'];
      for (const kind of order) {
        const usage = run(kind, input.file);
        runs[i][kind].push(usage);
        log(`inject bench: ${input.name} ${kind} cpu ${usage.cpuMs.toFixed(0)} ms, wall ${usage.wallMs.toFixed(0)} ms, peak RSS ${usage.maxRssMiB.toFixed(0)} MiB`);
      }
    });
  }
  const cells = inputs.map((input, i): InjectCell => {
    const pairs = runs[i].inject.map((x, k) => [x, runs[i].floor[k]] as const);
    const inject = summary(runs[i].inject, input.bytes);
    const floorSummary = summary(runs[i].floor, input.bytes);
    return {
      name: input.name,
      bytes: input.bytes,
      inject,
      floor: floorSummary,
      cpuRatio: median(pairs.map(([a, b]) => a.cpuMs / b.cpuMs)),
      wallRatio: median(pairs.map(([a, b]) => a.wallMs / b.wallMs)),
      rssRatio: inject.maxRssMiB / floorSummary.maxRssMiB,
    };
  });
  const perByte = (cell: InjectCell, kind: 'inject' | 'floor') => cell[kind].cpuMs / cell.bytes;
  return {
    cli: path.relative(ROOT, settings.cli),
    corpus: describeCorpus(),
    cells,
    cpuScaling: perByte(cells[1], 'inject') / perByte(cells[0], 'inject'),
    floorCpuScaling: perByte(cells[1], 'floor') / perByte(cells[0], 'floor'),
  };
}
