/**
 * Rendered manifests for the CLI at scale (test/programs/cli/scale.test.ts and `npm run bench`), made on
 * the spot rather than committed: our chart rendered by the real `helm` with every value set the
 * chart tests use, the shop test chart with several values, the Kustomize fixture rendered by the
 * real `kubectl`, the CLI fixtures, and the examples' YAML (synthesized here).
 *
 * The chart renders are mostly a ConfigMap holding the webhook server (one 62 KB string each), so
 * the workload-heavy pieces are repeated until they weigh as much: about half the bytes are
 * documents inject only copies, half are workloads it plans and patches.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdk8s';
import { bundle, run, tool } from './tools';
import { examples as registeredExamples } from '../../../examples/registry';
import { generateChart } from '../../../scripts/helm-chart';
import { joinFiles } from '../../../src/programs/cli/documents';
import { CHART_VALUE_SETS, ChartValueSet } from '../../chart/value-sets';

/** The ConfigMap key that holds the CSI node plugin's bundle. */
const CSI_PLUGIN_KEY = 'csi-plugin.js';
const FIXTURES = path.join(__dirname, 'fixtures');
/** Every fixture that parses (broken.yaml is refused on purpose). */
const FIXTURE_FILES = ['all-kinds', 'anchors', 'injected-lost-mount', 'injected-old-size', 'list', 'multi-doc', 'not-kubernetes', 'skips'];
const SHOP_VALUES = [[], ['memoryLimit=8Gi', 'replicas=3'], ['memoryLimit=512Mi'], ['memoryLimit=24Gi', 'replicas=1']];

/** One rendered stream and where it came from. */
export interface CorpusPiece {
  readonly source: string;
  readonly text: string;
}

let cached: { chart: CorpusPiece[]; workloads: CorpusPiece[] } | undefined;

function helmTemplate(helm: string, release: string, chart: string, args: readonly string[]): string {
  const result = run(helm, ['template', release, chart, '--namespace', 'cdk8s-shm', ...args]);
  if (result.status !== 0) throw new Error(`helm template ${chart} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * The rendered pieces, once per process: the chart renders, and the workload-heavy rest.
 * Bundles the webhook server first (the chart carries it).
 */
export function corpusPieces(): { chart: CorpusPiece[]; workloads: CorpusPiece[] } {
  if (cached) return cached;
  const helm = tool('helm');
  const kubectl = tool('kubectl');
  bundle();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-corpus-'));
  try {
    const chartDir = path.join(dir, 'cdk8s-shm');
    generateChart(chartDir);
    const renders = Object.entries(CHART_VALUE_SETS as Record<string, ChartValueSet>).map(([name, set]): CorpusPiece => ({
      source: `helm template charts/cdk8s-shm (${name})`,
      text: helmTemplate(helm, 'cdk8s-shm', chartDir, [...set.sets.flatMap(s => ['--set', s]), ...(set.extra ?? [])]),
    }));
    // The renders with the CSI node plugin carry its 540 KB bundle in a ConfigMap: one of them is
    // a chart as users render it; all of them would make one string most of the corpus.
    const withCsiPlugin = renders.filter(r => r.text.includes(`${CSI_PLUGIN_KEY}:`));
    const chart = renders.filter(r => !withCsiPlugin.includes(r) || r === withCsiPlugin[0]);
    const workloads: CorpusPiece[] = [
      ...SHOP_VALUES.map((sets, i) => ({
        source: `helm template test/programs/cli/fixtures/shop-chart ${sets.join(' ')}`.trim(),
        text: helmTemplate(helm, `shop-${i}`, path.join(FIXTURES, 'shop-chart'), sets.flatMap(s => ['--set', s])),
      })),
      { source: 'kubectl kustomize test/programs/cli/fixtures/kustomize', text: kustomize(kubectl) },
      ...FIXTURE_FILES.map(name => ({ source: `test/programs/cli/fixtures/${name}.yaml`, text: fs.readFileSync(path.join(FIXTURES, `${name}.yaml`), 'utf8') })),
      ...examples(),
    ];
    cached = { chart, workloads };
    return cached;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function kustomize(kubectl: string): string {
  const result = run(kubectl, ['kustomize', path.join(FIXTURES, 'kustomize')]);
  if (result.status !== 0) throw new Error(`kubectl kustomize failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * The examples' manifests, synthesized here as `npm run examples` writes them (so that the corpus
 * does not depend on what examples/dist holds); not the node agent's, whose CSI plugin bundle
 * (540 KB) would outweigh every workload piece (the chart renders carry it once).
 */
function examples(): CorpusPiece[] {
  return registeredExamples()
    .map(example => {
      const app = new App();
      example.build(app);
      return { source: `examples/${example.name}.ts`, text: app.synthYaml() };
    })
    .filter(piece => !piece.text.includes(`${CSI_PLUGIN_KEY}:`));
}

/**
 * One round of the corpus: every chart render, each followed by its share of the workload pieces,
 * repeated so that they weigh as much as the charts (so that any stretch of it is a similar mix).
 */
export function corpusUnit(): string {
  const { chart, workloads } = corpusPieces();
  const chartBytes = chart.reduce((n, p) => n + p.text.length, 0);
  const workloadBytes = workloads.reduce((n, p) => n + p.text.length, 0);
  const rounds = Math.max(1, Math.round(chartBytes / workloadBytes));
  const texts: string[] = [];
  chart.forEach((render, i) => {
    texts.push(render.text);
    const share = Math.floor((rounds * (i + 1)) / chart.length) - Math.floor((rounds * i) / chart.length);
    for (let r = 0; r < share; r++) texts.push(...workloads.map(p => p.text));
  });
  return joinFiles(texts);
}

/** About `bytes` of the corpus: rounds of it, up to the first `---` after that many bytes. */
export function corpusOfSize(bytes: number): string {
  const unit = corpusUnit();
  const text = repeatStream(unit, Math.ceil(bytes / unit.length));
  const cut = text.indexOf('\n---\n', bytes);
  return cut === -1 ? text : text.slice(0, cut + 1);
}

/** A stream of `times` copies of a stream, each after a `---`. */
export function repeatStream(text: string, times: number): string {
  return joinFiles(Array.from({ length: times }, () => text));
}

/** What a corpus holds, for reports. */
export function describeCorpus(): string {
  const { chart, workloads } = corpusPieces();
  return [...chart, ...workloads].map(p => `${p.source} (${(p.text.length / 1024).toFixed(1)} KiB)`).join('; ');
}
