/**
 * The packed library in apps as users have them: cdk8s-plus-28 at the peer floors (cdk8s 2.68,
 * constructs 10.3), cdk8s-plus-30 and cdk8s-plus-33 on the newest cdk8s and constructs, and an app
 * with no cdk8s-plus at all. Each app is installed from the npm registry in the test setup,
 * type-checked with `strict`, and synthesized; the same workloads must get the same `/dev/shm`
 * everywhere, and npm must not add a cdk8s-plus-28 to an app that has another. The cdk8s-plus-28 app
 * installs cdk8s-shm-plus-28 (SharedMemoryDeployment) too, packed as the release packs it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packPlus28 } from '../../scripts/pack-plus-28';
import { REPO, installApp, packLibrary, run } from '../support/packed-app';

jest.setTimeout(600_000);

const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

interface AppSpec {
  readonly name: string;
  /** `cdk8s-plus-NN`, or none. */
  readonly plus?: string;
  readonly dependencies: Record<string, string>;
}

/** The floors are the peer dependencies' lower bounds (package.json), tested as such. */
const FLOORS = { 'cdk8s': '2.68.12', 'constructs': '10.3.0', 'cdk8s-plus-28': '2.5.6' };
const NEWEST = { cdk8s: '^2.70.0', constructs: '^10.8.1' };
const APPS: AppSpec[] = [
  { name: 'cdk8s-plus-28 at the floors', plus: 'cdk8s-plus-28', dependencies: FLOORS },
  { name: 'cdk8s-plus-30', plus: 'cdk8s-plus-30', dependencies: { ...NEWEST, 'cdk8s-plus-30': '^2.4.0' } },
  { name: 'cdk8s-plus-33', plus: 'cdk8s-plus-33', dependencies: { ...NEWEST, 'cdk8s-plus-33': '^2.5.0' } },
  { name: 'no cdk8s-plus', dependencies: NEWEST },
];

/** Workloads every way a user writes them: a cdk8s-plus Deployment and Job, an L1 StatefulSet, a plain ApiObject. */
function plusProgram(plus: string): string {
  return `
import { ApiObject, App, Chart, Size } from 'cdk8s';
import * as kplus from '${plus}';
import { SharedMemory, withSharedMemory } from 'cdk8s-shm';
import { report, vendorChart } from './common';

const app = new App();
const chart = new Chart(app, 'ml');
const memory = (gib: number) => ({ memory: { limit: Size.gibibytes(gib) } });
const web = new kplus.Deployment(chart, 'web', {
  containers: [{ name: 'app', image: 'example/app:1.0', resources: memory(8) }, { name: 'side', image: 'example/side:1.0', resources: memory(1) }],
});
SharedMemory.addTo(web, { ratio: 0.25 });
const job: kplus.Job = withSharedMemory(new kplus.Job(chart, 'train', { containers: [{ name: 'trainer', image: 'example/trainer:1.0', resources: memory(32) }] }));
job.addContainer({ name: 'late', image: 'example/late:1.0', resources: memory(4) });
SharedMemory.addTo(new kplus.k8s.KubeStatefulSet(chart, 'db', {
  spec: {
    serviceName: 'db',
    selector: { matchLabels: { app: 'db' } },
    template: {
      metadata: { labels: { app: 'db' } },
      spec: { containers: [{ name: 'db', image: 'postgres:16', resources: { limits: { memory: kplus.k8s.Quantity.fromString('4Gi') } } }] },
    },
  },
}));
const raw: ApiObject = new ApiObject(chart, 'raw', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'raw' }, spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { memory: '2Gi' } } }] } });
SharedMemory.addTo(raw, { size: Size.mebibytes(512) });
report([chart, vendorChart(app)]);
`;
}

/** What every app shares: a vendor chart sized by applyToChart, and the report of what each workload got. */
const COMMON = `
import { ApiObject, App, Chart } from 'cdk8s';
import { SharedMemory } from 'cdk8s-shm';

export function vendorChart(app: App): Chart {
  const vendor = new Chart(app, 'vendor');
  new ApiObject(vendor, 'legacy', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'legacy' },
    spec: {
      selector: { matchLabels: { app: 'legacy' } },
      template: { metadata: { labels: { app: 'legacy' } }, spec: { containers: [{ name: 'legacy', image: 'x', resources: { limits: { memory: '6Gi' } } }] } },
    },
  });
  SharedMemory.applyToChart(vendor);
  return vendor;
}

/** One line of JSON: for every workload, its /dev/shm size and the containers that mount it. */
export function report(charts: Chart[]): void {
  const rows = charts.flatMap(chart => chart.toJson()).flatMap((o: any) => {
    const template = o.kind === 'Pod' ? o : o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.spec?.template;
    if (!template) return [];
    const volume = (template.spec.volumes ?? []).find((v: any) => v.emptyDir?.medium === 'Memory');
    const mountedBy = template.spec.containers.filter((c: any) => (c.volumeMounts ?? []).some((m: any) => m.mountPath === '/dev/shm')).map((c: any) => c.name);
    return [{ kind: o.kind, name: o.metadata.name, size: volume?.emptyDir?.sizeLimit, mountedBy }];
  });
  console.log(JSON.stringify(rows));
}
`;

/** Without cdk8s-plus: the package loads, sizes ApiObjects, and deploys the webhook and a node agent that shares with one. */
const BARE_PROGRAM = `
import { ApiObject, App, Chart, Size } from 'cdk8s';
import { SharedMemory, SharedMemoryAgent, SharedMemoryWebhook } from 'cdk8s-shm';
import { report, vendorChart } from './common';

const app = new App();
const chart = new Chart(app, 'ml');
const raw = new ApiObject(chart, 'raw', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'raw' }, spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { memory: '2Gi' } } }] } });
SharedMemory.addTo(raw, { size: Size.mebibytes(512) });
const platform = new Chart(app, 'platform');
new SharedMemoryWebhook(platform, 'webhook');
const agent = new SharedMemoryAgent(platform, 'agent', {
  containers: [{ name: 'agent', image: 'example/agent:1.0', resources: { memory: { request: Size.mebibytes(64), limit: Size.mebibytes(128) } } }],
});
agent.share(new ApiObject(platform, 'tenant', {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'tenant' },
  spec: {
    selector: { matchLabels: { app: 'tenant' } },
    template: { metadata: { labels: { app: 'tenant' } }, spec: { containers: [{ name: 'tenant', image: 'x', resources: { limits: { memory: '1Gi' } } }] } },
  },
}));
report([chart, vendorChart(app)]);
console.log(JSON.stringify(platform.toJson().map((o: any) => ({
  kind: o.kind, name: o.metadata.name, volumes: (o.spec?.template?.spec?.volumes ?? []).map((v: any) => v.csi?.driver ?? v.name),
}))));
`;

/** The cdk8s-plus-28 convenience, from its own package. */
const DEPLOYMENT_PROGRAM = `
import { App, Chart, Size } from 'cdk8s';
import { SharedMemoryDeployment } from 'cdk8s-shm-plus-28';
import { report } from './common';

const app = new App();
const chart = new Chart(app, 'ml');
new SharedMemoryDeployment(chart, 'web', { containers: [{ name: 'app', image: 'example/app:1.0', resources: { memory: { limit: Size.gibibytes(8) } } }] });
report([chart]);
`;

interface BuiltApp {
  readonly dir: string;
  readonly rows: any[];
  /** What the bare app's platform chart synthesized: kind, name and the volumes of each pod template. */
  readonly platform?: any[];
  /** What SharedMemoryDeployment gave (cdk8s-plus-28 only). */
  readonly deploymentRows?: any[];
}

let tarball: string;
let plus28Tarball: string;
const built = new Map<string, BuiltApp>();

function buildApp(root: string, spec: AppSpec): BuiltApp {
  const dir = path.join(root, spec.name.replace(/[^a-z0-9]+/g, '-'));
  installApp(dir, spec.dependencies, tarball, spec.plus === 'cdk8s-plus-28' ? plus28Tarball : undefined);
  const files: Record<string, string> = { 'common.ts': COMMON, 'main.ts': spec.plus ? plusProgram(spec.plus) : BARE_PROGRAM };
  if (spec.plus === 'cdk8s-plus-28') files['deployment.ts'] = DEPLOYMENT_PROGRAM;
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  // Library declarations are checked too (no skipLibCheck): ours must hold against each cdk8s and constructs.
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, target: 'ES2022', module: 'node16', outDir: 'out', types: [], skipLibCheck: false },
    files: Object.keys(files),
  }));
  run(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
  const linesOf = (program: string) => run(process.execPath, [path.join('out', program)], dir).trim().split('\n').filter(l => l.startsWith('[')).map(l => JSON.parse(l));
  const [rows, platform] = linesOf('main.js');
  return { dir, rows, platform, deploymentRows: files['deployment.ts'] ? linesOf('deployment.js')[0] : undefined };
}

beforeAll(() => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-compat-'));
  tarball = packLibrary(root);
  plus28Tarball = packPlus28(root);
  for (const spec of APPS) built.set(spec.name, buildApp(root, spec));
});

test.each(APPS.filter(a => a.plus).map(a => a.name))('%s: strict TypeScript compiles, and every workload gets the /dev/shm of the rule', name => {
  expect(built.get(name)!.rows).toEqual([
    // 8Gi and 1Gi writers, ratio 0.25 of the larger
    { kind: 'Deployment', name: expect.stringMatching(/^ml-web-/), size: '2Gi', mountedBy: ['app', 'side'] },
    // the container added after withSharedMemory is covered, and is the larger writer (32Gi)
    { kind: 'Job', name: expect.stringMatching(/^ml-train-/), size: '16Gi', mountedBy: ['trainer', 'late'] },
    { kind: 'StatefulSet', name: expect.stringMatching(/^ml-db-/), size: '2Gi', mountedBy: ['db'] },
    { kind: 'Pod', name: 'raw', size: '512Mi', mountedBy: ['c'] },
    { kind: 'Deployment', name: 'legacy', size: '3Gi', mountedBy: ['legacy'] },
  ]);
});

test('every cdk8s-plus gives the same /dev/shm for the same workload', () => {
  const [first, ...others] = APPS.filter(a => a.plus).map(a => built.get(a.name)!.rows);
  for (const rows of others) expect(rows).toEqual(first);
});

test('an app with cdk8s-plus-33 gets no cdk8s-plus-28 from npm', () => {
  // What npm installed, anywhere in the tree (`npm ls` also lists the optional peer it did not install, as `{}`).
  const lock = JSON.parse(fs.readFileSync(path.join(built.get('cdk8s-plus-33')!.dir, 'package-lock.json'), 'utf8'));
  const installed = Object.keys(lock.packages).map(where => where.split('node_modules/').pop());
  expect(installed).toContain('cdk8s-plus-33');
  expect(installed).toContain('cdk8s-shm');
  expect(installed).not.toContain('cdk8s-plus-28');
});

test('with no cdk8s-plus at all the package compiles, loads, sizes objects, and deploys the webhook and a node agent', () => {
  const bare = built.get('no cdk8s-plus')!;
  expect(fs.existsSync(path.join(bare.dir, 'node_modules', 'cdk8s-plus-28'))).toBe(false);
  expect(bare.rows).toEqual([
    { kind: 'Pod', name: 'raw', size: '512Mi', mountedBy: ['c'] },
    { kind: 'Deployment', name: 'legacy', size: '3Gi', mountedBy: ['legacy'] },
  ]);
  const platform = bare.platform!;
  const names = (kind: string) => platform.filter(o => o.kind === kind).map(o => o.name).sort();
  expect(names('MutatingWebhookConfiguration')).toEqual(['cdk8s-shm-webhook']);
  expect(names('Deployment')).toEqual(['cdk8s-shm-webhook', 'tenant']);
  expect(names('DaemonSet')).toEqual(['agent', 'agent-csi']);
  // The tenant mounts the agent's domain through its CSI driver.
  expect(platform.find(o => o.name === 'tenant').volumes).toEqual(['agent.cdk8s-shm.io']);
});

test('SharedMemoryDeployment, from cdk8s-shm-plus-28, in the cdk8s-plus-28 app', () => {
  expect(built.get('cdk8s-plus-28 at the floors')!.deploymentRows).toEqual([
    { kind: 'Deployment', name: expect.stringMatching(/^ml-web-/), size: '4Gi', mountedBy: ['app'] },
  ]);
});
