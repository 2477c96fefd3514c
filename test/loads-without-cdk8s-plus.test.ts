/**
 * The compiled constructs load and synthesize in an app that has only `cdk8s` and `constructs`
 * (pnpm, yarn 1, `--legacy-peer-deps`, or an app on another cdk8s-plus): a temporary app whose
 * node_modules holds copies of those two and of this package's lib/, and nothing else, runs a
 * node agent (both deliveries, sharing with an ApiObject and with a construct wrapping one) and a
 * webhook with every pod-level prop. What it synthesizes must equal what the same code gives here,
 * from the sources, with cdk8s-plus-28 at hand.
 *
 * Every module of lib/constructs is loaded, and lib/index.js, the main entry point. SharedMemoryDeployment,
 * the cdk8s-plus-28 convenience, is the package cdk8s-shm-plus-28 (test/packages, test/compat).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cdk8s from 'cdk8s';
import * as constructs from 'constructs';
import * as shm from '../src';

const ROOT = path.join(__dirname, '..');
const LIB = path.join(ROOT, 'lib');

/** The files under a directory, as paths relative to it. */
function walk(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .flatMap(e => (e.isDirectory() ? walk(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))]));
}

/**
 * Builds the app with the modules it is handed, so that the same code runs in the isolated app and
 * here. Plain JavaScript: the isolated app has no TypeScript.
 */
const SCENARIO = `
module.exports = function build({ cdk8s, constructs, shm, podspec }) {
  const { ApiObject, App, Chart, Duration, Size, Testing } = cdk8s;
  class Wrapped extends constructs.Construct {
    constructor(scope, id) {
      super(scope, id);
      new ApiObject(this, 'Resource', {
        apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'data' },
        spec: { serviceName: 'db', selector: { matchLabels: { app: 'db' } },
          template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'example/db:1' }] } } },
      });
    }
  }
  const chart = new Chart(new App(), 'loads');
  const container = {
    name: 'agent',
    image: 'example/agent:1.0',
    resources: { cpu: { request: podspec.Cpu.millis(50) }, memory: { request: Size.mebibytes(128), limit: Size.mebibytes(128) } },
    env: { NODE_NAME: podspec.EnvValue.fromFieldRef('spec.nodeName') },
    ports: [{ number: 9100, name: 'metrics' }],
    livenessProbe: podspec.Probe.fromHttpGet('/healthz', { port: 9100, period: Duration.seconds(20) }),
    volumeMounts: [{ volume: podspec.PodVolume.fromEmptyDir('tmp'), mountPath: '/tmp' }],
  };
  const csi = new shm.SharedMemoryAgent(chart, 'csi-agent', { containers: [container], serviceAccountName: 'agent' });
  csi.share(new ApiObject(chart, 'web', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'example/web:1', resources: { limits: { memory: '1Gi' } } }] } } },
  }));
  csi.share(new Wrapped(chart, 'db'));
  new shm.SharedMemoryAgent(chart, 'host-agent', {
    containers: [container],
    delivery: shm.AgentDelivery.hostPath(),
    domain: shm.SharedMemoryDomain.tmpfs({ size: Size.mebibytes(256) }),
    systemV: true,
    placement: shm.AgentPlacement.allNodes(),
  });
  new shm.SharedMemoryWebhook(chart, 'webhook', {
    tolerations: [{ key: 'dedicated', operator: podspec.TolerationOperator.EQUAL, value: 'platform', effect: podspec.TaintEffect.NO_SCHEDULE }],
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
      { matchExpressions: [{ key: 'kubernetes.io/arch', operator: podspec.NodeSelectorOperator.IN, values: ['amd64'] }] }] } } },
    resources: { cpu: { request: podspec.Cpu.millis(100) }, memory: { request: Size.mebibytes(96), limit: Size.mebibytes(384) } },
  });
  const warn = console.warn;
  console.warn = () => undefined; // the agents' synthesis warnings (hostIPC, hostPath)
  try {
    return Testing.synth(chart);
  } finally {
    console.warn = warn;
  }
};
`;

/** What the isolated app prints: the modules it could load, what it synthesized, and whether cdk8s-plus was within reach. */
const MAIN = `
const fs = require('fs');
const path = require('path');
const lib = path.join(path.dirname(require.resolve('cdk8s-shm/package.json')), 'lib');
const shm = {};
// The main entry point, and every module of the constructs (the pod-level types are its podspec namespace).
const walk = dir => fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);
const files = ['index.js', ...walk(path.join(lib, 'constructs')).map(f => path.relative(lib, f)).filter(f => f.endsWith('.js'))];
for (const file of files.sort()) Object.assign(shm, require(path.join(lib, file)));
let plus;
try { plus = require.resolve('cdk8s-plus-28'); } catch { plus = null; }
const objects = require('./scenario.js')({ cdk8s: require('cdk8s'), constructs: require('constructs'), shm, podspec: shm.podspec });
const loaded = Object.keys(require.cache).filter(f => /cdk8s-plus/.test(f));
process.stdout.write(JSON.stringify({ plus, loaded, exports: Object.keys(shm).sort(), objects }));
`;

let app: string;
beforeAll(() => {
  if (!fs.existsSync(path.join(LIB, 'constructs', 'agent', 'shared-memory-agent.js'))) throw new Error('lib/ is not built: run npx projen compile');
  // Outside the repository, so that no node_modules above it can lend a cdk8s-plus.
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-no-plus-'));
  const modules = path.join(app, 'node_modules');
  for (const dependency of ['cdk8s', 'constructs']) fs.cpSync(path.join(ROOT, 'node_modules', dependency), path.join(modules, dependency), { recursive: true });
  fs.cpSync(LIB, path.join(modules, 'cdk8s-shm', 'lib'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(modules, 'cdk8s-shm', 'package.json'));
  fs.writeFileSync(path.join(app, 'scenario.js'), SCENARIO);
  fs.writeFileSync(path.join(app, 'main.js'), MAIN);
});
afterAll(() => fs.rmSync(app, { recursive: true, force: true }));

test('the agent and the webhook load and synthesize with only cdk8s and constructs, as they do with cdk8s-plus at hand', () => {
  const env = { ...process.env };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  const output = JSON.parse(execFileSync(process.execPath, ['main.js'], { cwd: app, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
  // The app really has no cdk8s-plus, and loading the constructs brought none.
  expect(output.plus).toBeNull();
  expect(output.loaded).toEqual([]);
  expect(output.exports).toEqual(expect.arrayContaining(['SharedMemoryAgent', 'SharedMemoryWebhook', 'podspec', 'Cpu', 'EnvValue', 'Probe', 'PodVolume', 'SharedMemory']));

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const build = require(path.join(app, 'scenario.js'));
  const here = build({ cdk8s, constructs, shm, podspec: shm.podspec });
  expect(output.objects).toEqual(JSON.parse(JSON.stringify(here)));
  expect(output.objects.filter((o: any) => o.kind === 'DaemonSet').map((o: any) => o.metadata.name).sort())
    .toEqual(['csi-agent', 'csi-agent-csi', 'host-agent']);
  const shared = output.objects.filter((o: any) => ['web', 'db'].includes(o.metadata.name));
  for (const o of shared) expect(o.spec.template.spec.volumes).toEqual([expect.objectContaining({ name: 'csi-agent-shm' })]);
  const webhook = output.objects.find((o: any) => o.kind === 'Deployment' && o.metadata.name === 'cdk8s-shm-webhook').spec.template.spec;
  expect(webhook.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'platform', effect: 'NoSchedule' }]);
  expect(webhook.containers[0].resources).toEqual({ requests: { cpu: '100m', memory: '96Mi' }, limits: { memory: '384Mi' } });
});

test('their declarations name no cdk8s-plus type, so that an app on any cdk8s-plus version type-checks against them', () => {
  const declarations = walk(LIB).filter(f => f.endsWith('.d.ts') && !f.startsWith('programs/'));
  expect(declarations).toEqual(expect.arrayContaining([
    'index.d.ts', 'constructs/sizing/shared-memory.d.ts', 'constructs/agent/shared-memory-agent.d.ts', 'constructs/webhook/shared-memory-webhook.d.ts',
    'constructs/pod-spec/container.d.ts',
  ]));
  const naming = declarations.filter(f => /['"]cdk8s-plus[^'"]*['"]/.test(fs.readFileSync(path.join(LIB, f), 'utf8')));
  expect(naming).toEqual([]);
});
