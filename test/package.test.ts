/**
 * The npm package is the product: what `npm pack` puts in the tarball is checked both ways (what
 * users need is there, the build's and the tests' own tooling is not), every `require` in it
 * resolves to something the package has or declares, and the Helm chart extracted from the
 * tarball lints and renders with the real helm.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as os from 'os';
import * as path from 'path';
import { REPO, run, tool } from './programs/cli/tools';

jest.setTimeout(300_000);

let root: string;
let files: string[];
let pkg: any;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-pack-'));
  // lib/ and the chart's bundles must be built: npm test compiles first.
  const name = execFileSync('npm', ['pack', REPO, '--pack-destination', root, '--loglevel=error'], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
  execFileSync('tar', ['xzf', name], { cwd: root });
  const base = path.join(root, 'package');
  const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true })
    .flatMap(e => e.isDirectory() ? walk(path.join(dir, e.name)) : [path.relative(base, path.join(dir, e.name))]);
  files = walk(base).sort();
  pkg = JSON.parse(fs.readFileSync(path.join(base, 'package.json'), 'utf8'));
});

test('the tarball holds the library, its bundles, the CLI, the chart with its bundles, and the docs', () => {
  for (const needed of [
    'lib/index.js', 'lib/index.d.ts', 'lib/core/plan.js', 'lib/bundle/webhook.js', 'lib/bundle/cli.js', 'lib/bundle/csi-plugin.js',
    'bin/cdk8s-shm', 'cdk8s-plus-28.js', 'cdk8s-plus-28.d.ts', 'lib/constructs/sizing/shared-memory-deployment.js',
    'charts/cdk8s-shm/Chart.yaml', 'charts/cdk8s-shm/values.yaml', 'charts/cdk8s-shm/values.schema.json',
    'charts/cdk8s-shm/files/webhook.js', 'charts/cdk8s-shm/files/csi-plugin.js',
    'README.md', 'LICENSE', 'API.md', '.jsii', 'Dockerfile.webhook', 'package.json',
  ]) expect({ needed, present: files.includes(needed) }).toEqual({ needed, present: true });
});

test('and nothing of the build, the tests or the benchmarks, nor copies of code that only runs bundled', () => {
  const unwanted = [/^src\//, /^test\//, /^scripts\//, /^bench\//, /^\.ci\//, /^examples\//, /^e2e\//, /^test-reports\//, /^\.tmp\//,
    /^lib\/programs\//, /^\.projenrc/, /^projenrc\//, /^tsconfig/, /^BENCHMARKS\.md$/, /^\.github\//, /\.test\./];
  expect(files.filter(f => unwanted.some(u => u.test(f)))).toEqual([]);
});

test('every require of the packed JavaScript resolves: a Node.js module, a file in the package, or a declared dependency', () => {
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  const builtins = new Set(builtinModules.flatMap(m => [m, `node:${m}`]));
  const unresolved: string[] = [];
  for (const file of files.filter(f => f.endsWith('.js') && !f.startsWith('lib/bundle/') && !f.startsWith('charts/'))) {
    const text = fs.readFileSync(path.join(root, 'package', file), 'utf8');
    for (const request of Array.from(text.matchAll(/require\("([^"]+)"\)|require\('([^']+)'\)/g), m => m[1] ?? m[2])) {
      if (builtins.has(request)) continue;
      if (request.startsWith('.')) {
        const target = path.normalize(path.join(path.dirname(file), request));
        if (![target, `${target}.js`, path.join(target, 'index.js')].some(t => files.includes(t))) unresolved.push(`${file}: ${request}`);
        continue;
      }
      const name = request.startsWith('@') ? request.split('/').slice(0, 2).join('/') : request.split('/')[0];
      if (!declared.has(name)) unresolved.push(`${file}: ${request}`);
    }
  }
  expect(unresolved).toEqual([]);
});

test('package.json says what npm and Construct Hub need', () => {
  expect(pkg).toMatchObject({
    name: 'cdk8s-shm',
    license: 'Apache-2.0',
    engines: { node: '>= 20.0.0' },
    homepage: expect.stringMatching(/^https:\/\//),
    bugs: { url: expect.stringMatching(/^https:\/\//) },
    bin: { 'cdk8s-shm': 'bin/cdk8s-shm' },
    peerDependenciesMeta: { 'cdk8s-plus-28': { optional: true } },
  });
  expect(pkg.keywords).toEqual(expect.arrayContaining(['cdk8s', 'kubernetes']));
  expect(Object.keys(pkg.dependencies ?? {})).toEqual([]);
});

test('the chart as the package ships it lints and renders with helm', () => {
  const helm = tool('helm');
  const chart = path.join(root, 'package', 'charts', 'cdk8s-shm');
  const lint = run(helm, ['lint', '--strict', chart]);
  expect({ status: lint.status, stderr: lint.stderr }).toEqual({ status: 0, stderr: '' });
  const rendered = run(helm, ['template', 'cdk8s-shm', chart, '--namespace', 'cdk8s-shm']);
  expect(rendered.status).toBe(0);
  // The bundled server made it into the ConfigMap the pods run.
  expect(rendered.stdout).toContain('webhook.js: ');
  expect(rendered.stdout.length).toBeGreaterThan(fs.statSync(path.join(chart, 'files', 'webhook.js')).size);
  const agent = run(helm, ['template', 'cdk8s-shm', chart, '--namespace', 'cdk8s-shm', '--set', 'agent.enabled=true', '--set', 'agent.image=registry.example.com/agent:1.0']);
  expect({ status: agent.status, stderr: agent.stderr }).toEqual({ status: 0, stderr: '' });
  expect(agent.stdout).toContain('csi-plugin.js: ');
});
