/**
 * The bundled `cdk8s-shm` as users run it: `bin/cdk8s-shm` and `node lib/bundle/cli.js`, with
 * standard input, exit codes and standard error; after `kubectl kustomize`; and as a Helm v4
 * post-renderer plugin (the real binaries, fetched by scripts/fetch-tools.sh).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expectValidKubernetes, fixture, fixturePath, objectsOf, shmOf } from './support';
import { REPO, bundle, run, tool, writePostRendererPlugin } from './tools';

let cliJs: string;
const BIN = path.join(REPO, 'bin', 'cdk8s-shm');

beforeAll(() => {
  cliJs = bundle();
}, 120_000);

describe('the bundled binary', () => {
  test('reads standard input and writes YAML (bin/cdk8s-shm and node lib/bundle/cli.js agree)', () => {
    const viaBin = run(process.execPath, [BIN, 'inject'], { input: fixture('multi-doc.yaml') });
    const viaBundle = run(process.execPath, [cliJs, 'inject', '-f', '-'], { input: fixture('multi-doc.yaml') });
    expect(viaBin).toMatchObject({ status: 0, stderr: '' });
    expect(viaBundle).toEqual(viaBin);
    const objects = objectsOf(viaBin.stdout);
    expect(objects.map(o => shmOf(o).sizeLimit)).toEqual([undefined, '1Gi', undefined, '2Gi']);
    expectValidKubernetes(objects);
  });

  test('broken YAML: exit 2, the position on stderr, nothing on stdout', () => {
    const result = run(process.execPath, [BIN, 'inject', '-f', fixturePath('broken.yaml')]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^cdk8s-shm inject: .*broken\.yaml:16:9: YAML does not parse: /);
  });

  test('a non-Kubernetes document: exit 0, passed through, a warning on stderr', () => {
    const result = run(process.execPath, [BIN, 'inject'], { input: fixture('not-kubernetes.yaml') });
    expect(result.status).toBe(0);
    expect(result.stdout.startsWith(fixture('not-kubernetes.yaml').split('---')[0])).toBe(true);
    expect(result.stderr).toContain('cdk8s-shm: warning: <stdin>:2: document 1 is not a Kubernetes object');
  });

  test('check: exit 1 with the list, then 0 on the injected output', () => {
    const before = run(process.execPath, [BIN, 'check', '-f', fixturePath('all-kinds.yaml')]);
    expect(before.status).toBe(1);
    expect(before.stdout).toContain('7 of 7 workloads would change');
    const injected = run(process.execPath, [BIN, 'inject', '-f', fixturePath('all-kinds.yaml')]).stdout;
    expect(run(process.execPath, [BIN, 'check'], { input: injected })).toMatchObject({ status: 0, stdout: 'ok: 7 workloads checked, no /dev/shm change needed\n' });
  });

  test('plan -o json parses; bad flags exit 2', () => {
    const plan = run(process.execPath, [BIN, 'plan', '-o', 'json', '-f', fixturePath('list.yaml')]);
    expect(plan.status).toBe(0);
    expect(JSON.parse(plan.stdout).map((p: any) => p.shmSize)).toEqual(['8Gi', '32Gi']);
    expect(run(process.execPath, [BIN, 'plan', '--ratio', '0'], { input: '' })).toMatchObject({ status: 2, stdout: '' });
  });

  test('webhook delegates to the server entry with the remaining arguments', () => {
    const help = run(process.execPath, [BIN, 'webhook', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: cdk8s-shm webhook [flags]');
    const bad = run(process.execPath, [BIN, 'webhook', '--ratio', '7']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('cdk8s-shm webhook:');
  });

  test('--version prints the package version', () => {
    const version = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;
    expect(run(process.execPath, [BIN, '--version'])).toMatchObject({ status: 0, stdout: `${version}\n` });
  });

  test('a reader that stops early (| head) is not an error', () => {
    const big = Array.from({ length: 300 }, () => fixture('all-kinds.yaml')).join('---\n');
    const result = run('/bin/sh', ['-c', `node ${JSON.stringify(BIN)} inject | head -n 3`], { input: big });
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')).toHaveLength(4);
    expect(result.stderr).toBe('');
  });
});

describe('after kubectl kustomize', () => {
  test('kustomize output piped into inject gets the patched, prefixed Deployment sized', () => {
    const kubectl = tool('kubectl');
    const built = run(kubectl, ['kustomize', fixturePath('kustomize')]);
    expect(built).toMatchObject({ status: 0, stderr: '' });
    const injected = run(process.execPath, [BIN, 'inject'], { input: built.stdout });
    expect(injected).toMatchObject({ status: 0, stderr: '' });
    const objects = objectsOf(injected.stdout);
    const deployment = objects.find(o => o.kind === 'Deployment');
    expect(deployment.metadata).toMatchObject({ name: 'prod-vllm', namespace: 'inference' });
    expect(shmOf(deployment)).toEqual({ sizeLimit: '12Gi', mountedBy: ['vllm'], annotation: '12Gi' }); // the kustomize patch made the limit 24Gi
    expect(objects.find(o => o.kind === 'Service')).toEqual(objectsOf(built.stdout).find(o => o.kind === 'Service'));
    expectValidKubernetes(objects);
  }, 120_000);
});

describe('as a Helm post-renderer', () => {
  let home: string;
  let helm: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    helm = tool('helm');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-helm-'));
    env = {
      ...process.env,
      HELM_CONFIG_HOME: path.join(home, 'config'),
      HELM_CACHE_HOME: path.join(home, 'cache'),
      HELM_DATA_HOME: path.join(home, 'data'),
    };
    // The plugin of the README: Helm 4 runs post-renderers as plugins of type postrenderer/v1.
    const plugin = writePostRendererPlugin(path.join(home, 'cdk8s-shm-plugin'), BIN);
    const installed = run(helm, ['plugin', 'install', plugin], { env });
    expect(installed.status).toBe(0);
  }, 120_000);

  afterAll(() => {
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  test('helm template --post-renderer cdk8s-shm sizes the chart\'s Deployment', () => {
    const result = run(helm, ['template', 'shop', fixturePath('shop-chart'), '--post-renderer', 'cdk8s-shm'], { env });
    expect(result.status).toBe(0);
    const objects = objectsOf(result.stdout);
    const deployment = objects.find(o => o.kind === 'Deployment');
    expect(shmOf(deployment)).toEqual({ sizeLimit: '1Gi', mountedBy: ['web'], annotation: '1Gi' });
    expectValidKubernetes(objects);
  });

  test('--post-renderer-args pass the policy flags through', () => {
    const result = run(helm, ['template', 'shop', fixturePath('shop-chart'), '--post-renderer', 'cdk8s-shm',
      '--post-renderer-args', '--ratio=0.25', '--set', 'memoryLimit=8Gi'], { env });
    expect(result.status).toBe(0);
    expect(shmOf(objectsOf(result.stdout).find(o => o.kind === 'Deployment')).sizeLimit).toBe('2Gi');
  });

  test('a bad flag fails the helm command', () => {
    const result = run(helm, ['template', 'shop', fixturePath('shop-chart'), '--post-renderer', 'cdk8s-shm', '--post-renderer-args', '--ratio=3'], { env });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toBe('');
  });
});
