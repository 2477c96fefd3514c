/**
 * The npm package is the product: what `npm pack` puts in the tarball is checked both ways (what
 * users need is there, the build's and the tests' own tooling is not), every `require` in it
 * resolves to something the package has or declares, and the Helm chart extracted from the
 * tarball lints and renders with the real helm.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { run, tool } from './programs/cli/tools';
import { packLibrary } from './support/packed-app';
import { Unpacked, unpack, unresolvedRequires } from './support/tarball';

jest.setTimeout(300_000);

let packed: Unpacked;
let files: string[];
let pkg: any;

beforeAll(() => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-pack-'));
  // lib/ and the chart's bundles must be built: npm test compiles first.
  packed = unpack(packLibrary(root), root);
  files = packed.files;
  pkg = packed.manifest;
});

test('the tarball holds the library, its bundles, the CLI, the chart with its bundles, and the docs', () => {
  for (const needed of [
    'lib/index.js', 'lib/index.d.ts', 'lib/core/plan.js', 'lib/bundle/webhook.js', 'lib/bundle/cli.js', 'lib/bundle/csi-plugin.js',
    'bin/cdk8s-shm',
    'charts/cdk8s-shm/Chart.yaml', 'charts/cdk8s-shm/values.yaml', 'charts/cdk8s-shm/values.schema.json',
    'charts/cdk8s-shm/files/webhook.js', 'charts/cdk8s-shm/files/csi-plugin.js',
    'README.md', 'LICENSE', 'API.md', '.jsii', 'Dockerfile.webhook', 'package.json',
  ]) expect({ needed, present: files.includes(needed) }).toEqual({ needed, present: true });
});

test('and nothing of the build, the tests or the benchmarks, nor copies of code that only runs bundled', () => {
  const unwanted = [/^src\//, /^test\//, /^scripts\//, /^bench\//, /^\.ci\//, /^examples\//, /^e2e\//, /^test-reports\//, /^\.tmp\//,
    /^lib\/programs\//, /^packages\//, /^\.projenrc/, /^projenrc\//, /^tsconfig/, /^BENCHMARKS\.md$/, /^\.github\//, /\.test\./];
  expect(files.filter(f => unwanted.some(u => u.test(f)))).toEqual([]);
});

test('every require of the packed JavaScript resolves: a Node.js module, a file in the package, or a declared dependency', () => {
  expect(unresolvedRequires(packed, f => f.startsWith('lib/bundle/') || f.startsWith('charts/'))).toEqual([]);
});

test('package.json says what npm and Construct Hub need', () => {
  expect(pkg).toMatchObject({
    name: 'cdk8s-shm',
    license: 'Apache-2.0',
    engines: { node: '>= 20.0.0' },
    homepage: expect.stringMatching(/^https:\/\//),
    bugs: { url: expect.stringMatching(/^https:\/\//) },
    bin: { 'cdk8s-shm': 'bin/cdk8s-shm' },
  });
  expect(pkg.keywords).toEqual(expect.arrayContaining(['cdk8s', 'kubernetes']));
  expect(Object.keys(pkg.dependencies ?? {})).toEqual([]);
  // No cdk8s-plus, not even an optional peer: jsii would make it a requirement of the Python package.
  expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['cdk8s', 'constructs']);
  expect(pkg.peerDependenciesMeta).toBeUndefined();
});

test('the chart as the package ships it lints and renders with helm', () => {
  const helm = tool('helm');
  const chart = path.join(packed.dir, 'charts', 'cdk8s-shm');
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
