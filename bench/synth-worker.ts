/**
 * One synthesis in a fresh process, as `cdk8s synth` runs one: builds a chart of N workloads in
 * the given variant, synthesizes it to YAML, and prints the timings as one JSON line.
 *
 * Every variant loads the same modules before the clock starts, so module loading is not counted
 * (it is the same for all). The library is the compiled one in lib/, as users get it.
 *
 * Usage: node -r ts-node/register/transpile-only bench/synth-worker.ts VARIANT WAY COUNT [INCLUDE_FILE]
 * (CDK8S_SHM_BENCH_LIB=DIR: load the library from DIR instead of lib/.)
 */
import * as path from 'path';
import { performance } from 'perf_hooks';
import { App, Chart, Include, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';

/**
 * `floor` is `plain` with the volume, mount and annotation that `addTo` gives written by hand: the
 * same YAML out, so that `addTo` against it isolates what our planning costs from what the larger
 * output costs any implementation.
 */
export const VARIANTS = ['plain', 'floor', 'addTo', 'include', 'applyToChart'] as const;
export type Variant = typeof VARIANTS[number];

/** How the synthesis is run: `app.synthYaml()` as `cdk8s synth` does, or `Testing.synth(chart)` as tests do (no YAML). */
export const WAYS = ['synthYaml', 'testing'] as const;
export type Way = typeof WAYS[number];

export interface SynthTiming {
  readonly variant: Variant;
  readonly way: Way;
  readonly count: number;
  /** Building the constructs (and reading the include file). */
  readonly constructMs: number;
  /** `app.synthYaml()` (validation, where SharedMemory plans, rendering, YAML) or `Testing.synth()` (the same without YAML). */
  readonly synthMs: number;
  readonly totalMs: number;
  /** Size of the YAML, a check that the variants produced what they should. */
  readonly yamlBytes: number;
  /** Occurrences of the injected mount in the YAML. */
  readonly shmMounts: number;
}

function main(): void {
  const [variant, way, countText, includeFile] = process.argv.slice(2) as [Variant, Way, string, string?];
  if (!VARIANTS.includes(variant)) throw new Error(`unknown variant ${variant}`);
  if (!WAYS.includes(way)) throw new Error(`unknown way ${way}`);
  const count = Number(countText);
  // The compiled library, as an app would load it; CDK8S_SHM_BENCH_LIB points at another build of
  // it, to compare a change with what it replaces.
  const lib = process.env.CDK8S_SHM_BENCH_LIB ?? path.join(__dirname, '..', 'lib');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SharedMemory } = require(lib) as typeof import('../src');

  const started = performance.now();
  const app = new App({ outdir: path.join(__dirname, '..', '.tmp', 'bench', 'dist') });
  const chart = new Chart(app, 'bench');
  if (variant === 'plain' || variant === 'floor' || variant === 'addTo') {
    for (let i = 0; i < count; i++) {
      const deployment = new kplus.Deployment(chart, `web-${i}`, {
        replicas: 2,
        containers: [{
          name: 'app',
          image: `registry.example.com/shop/service-${i}:1.0.0`,
          portNumber: 8080,
          envVariables: { LOG_FORMAT: kplus.EnvValue.fromValue('json'), REGION: kplus.EnvValue.fromValue('eu-west-1') },
          resources: {
            memory: { request: Size.gibibytes(1), limit: Size.gibibytes(2) },
            cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(1000) },
          },
        }],
      });
      if (variant === 'addTo') SharedMemory.addTo(deployment);
      if (variant === 'floor') {
        deployment.podMetadata.addAnnotation('cdk8s-shm.io/size-limit', '1Gi');
        const shm = kplus.Volume.fromEmptyDir(deployment, 'dshm', 'dshm', { medium: kplus.EmptyDirMedium.MEMORY, sizeLimit: Size.gibibytes(1) });
        deployment.containers[0].mount('/dev/shm', shm);
      }
    }
  } else {
    if (!includeFile) throw new Error('the include variants need the manifest file');
    new Include(chart, 'manifest', { url: includeFile });
    if (variant === 'applyToChart') SharedMemory.applyToChart(chart);
  }
  const built = performance.now();
  // Testing.synth gives objects, not YAML; they are turned into YAML after the clock stops, for the checks.
  const output = way === 'synthYaml' ? app.synthYaml() : Testing.synth(chart);
  const done = performance.now();
  const yaml = typeof output === 'string' ? output : JSON.stringify(output);

  const timing: SynthTiming = {
    variant,
    way,
    count,
    constructMs: built - started,
    synthMs: done - built,
    totalMs: done - started,
    yamlBytes: Buffer.byteLength(yaml),
    shmMounts: yaml.split(way === 'synthYaml' ? 'mountPath: /dev/shm' : '"mountPath":"/dev/shm"').length - 1,
  };
  process.stdout.write(`${JSON.stringify(timing)}\n`);
}

if (require.main === module) main();
