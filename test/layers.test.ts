/**
 * The layers of src/ (docs/architecture.md), held by reading every import:
 *
 *   core        the rule only: imports nothing outside src/core, no package, no Node.js module
 *   contracts   what a construct writes and a program reads: imports the core only, nothing else
 *   constructs  cdk8s constructs: the core, the contracts, cdk8s and constructs (no cdk8s-plus)
 *   programs    what runs in a cluster or a build: the core, the contracts and their bundled packages
 *
 * Dependencies point down: constructs never import programs, programs never import constructs, and
 * no file of src/ is part of an import cycle. packages/cdk8s-shm-plus-28 (SharedMemoryDeployment) sits
 * on top: it uses the library by its published name only, as an app does.
 */
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as path from 'path';

const SRC = path.join(__dirname, '..', 'src');
type Layer = 'core' | 'contracts' | 'constructs' | 'programs' | 'entry';

function layerOf(file: string): Layer {
  const top = path.relative(SRC, file).split(path.sep)[0];
  if (top === 'core' || top === 'contracts' || top === 'constructs' || top === 'programs') return top;
  return 'entry';
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? sources(file) : entry.name.endsWith('.ts') ? [file] : [];
  });
}

/** Every module a file imports (type-only imports too: they bind the layers as much). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|require\('([^']+)'\)|import\('([^']+)'\)/g)]
    .map(m => m[1] ?? m[2] ?? m[3]);
}

function resolve(from: string, request: string): string | undefined {
  if (!request.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), request);
  return [`${base}.ts`, path.join(base, 'index.ts')].find(f => fs.existsSync(f));
}

const BUILTINS = new Set(builtinModules.flatMap(m => [m, `node:${m}`]));
const packageOf = (request: string) => (request.startsWith('@') ? request.split('/').slice(0, 2) : request.split('/').slice(0, 1)).join('/');

/** Which layers and packages a layer may import. */
const ALLOWED: Record<Layer, { layers: Layer[]; packages: (request: string) => boolean }> = {
  core: { layers: ['core'], packages: () => false },
  contracts: { layers: ['core', 'contracts'], packages: () => false },
  constructs: {
    layers: ['core', 'contracts', 'constructs'],
    packages: r => BUILTINS.has(r) || ['cdk8s', 'constructs'].includes(packageOf(r)),
  },
  programs: { layers: ['core', 'contracts', 'programs'], packages: () => true },
  entry: { layers: ['constructs'], packages: () => false },
};

const files = sources(SRC);
const graph = new Map(files.map(file => [file, importsOf(file)]));

test('every file imports only from its own layer and the layers below it', () => {
  const wrong: string[] = [];
  for (const [file, requests] of graph) {
    const layer = layerOf(file);
    for (const request of requests) {
      const target = resolve(file, request);
      const fine = target ? ALLOWED[layer].layers.includes(layerOf(target)) : ALLOWED[layer].packages(request);
      if (!fine) wrong.push(`${path.relative(SRC, file)} (${layer}) imports ${request}${target ? ` (${layerOf(target)})` : ''}`);
    }
  }
  expect(wrong).toEqual([]);
  expect(files.length).toBeGreaterThan(80);
});

test('no file of src/ loads a cdk8s-plus: SharedMemoryDeployment is packages/cdk8s-shm-plus-28, on the public API alone', () => {
  const users = [...graph].filter(([, requests]) => requests.some(r => packageOf(r).startsWith('cdk8s-plus'))).map(([file]) => path.relative(SRC, file));
  expect(users).toEqual([]);
  const plus28 = path.join(__dirname, '..', 'packages', 'cdk8s-shm-plus-28', 'src');
  const requests = sources(plus28).flatMap(importsOf);
  expect(requests.filter(r => !r.startsWith('./')).sort()).toEqual(['cdk8s-plus-28', 'cdk8s-shm', 'constructs']);
});

test('no import cycle among the files of src/', () => {
  const resolved = (file: string, requests: string[]) => requests.map(r => resolve(file, r)).filter((t): t is string => t !== undefined);
  const edges = new Map([...graph].map(([file, requests]) => [file, resolved(file, requests)]));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, trail: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(file)), file].map(f => path.relative(SRC, f)).join(' -> '));
      return;
    }
    state.set(file, 'open');
    for (const next of edges.get(file) ?? []) visit(next, [...trail, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  expect(cycles).toEqual([]);
});
