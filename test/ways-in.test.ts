/**
 * One product, many ways in: a workload sized by a construct must come out of every later way in
 * (the webhook over HTTPS, `inject`, `plan`, `check`) unchanged, byte for byte, because the pod
 * carries the options it was sized with as `cdk8s-shm.io/` annotations and every way in asks the
 * same core. Every option, on every construct way in.
 */
import { ApiObject, App, Chart, Size, Testing, Yaml } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { SharedMemory, SharedMemoryAgent, SharedMemoryDomain, SharedMemoryOptions } from '../src';
import { parseWebhookArgs } from '../src/contracts/webhook-flags';
import { bytesCeil, formatBytes, podTemplateOf, resolvePolicy } from '../src/core';
import { injectDocuments } from '../src/programs/cli/inject';
import { runCli } from '../src/programs/cli/main';
import { createLogger } from '../src/programs/shared/log';
import { RunningServer, startWebhookServer } from '../src/programs/webhook/server';
import { podCreateReview } from './programs/webhook/support/fixtures';
import { WebhookTarget, admit } from './programs/webhook/support/harness';
import { makeTls, writeTlsFiles } from './programs/webhook/support/tls';
import { SharedMemoryDeployment } from 'cdk8s-shm-plus-28';

jest.setTimeout(60_000);

const GiB = (n: number) => Size.gibibytes(n);
const ANNOTATION = (name: string) => `cdk8s-shm.io/${name}`;

/** The business pod of every case: an app of 32Gi, a sidecar and a plain init container of 1Gi. */
const APP: kplus.ContainerProps = { name: 'app', image: 'example/app:1.0', resources: { memory: { limit: GiB(32) } } };
const PROXY: kplus.ContainerProps = { name: 'proxy', image: 'example/proxy:1.0', restartPolicy: kplus.ContainerRestartPolicy.ALWAYS, resources: { memory: { limit: GiB(1) } } };
const SETUP: kplus.ContainerProps = { name: 'setup', image: 'example/setup:1.0', resources: { memory: { limit: GiB(1) } } };

/** The same pod as plain Kubernetes JSON, for the ways in that take any ApiObject. */
function plainDeployment(scope: Chart, id: string, annotations?: Record<string, string>): ApiObject {
  const container = (name: string, memory: string, extra: object = {}) => ({ name, image: `example/${name}:1.0`, resources: { limits: { memory } }, ...extra });
  return new ApiObject(scope, id, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: id },
    spec: {
      selector: { matchLabels: { app: id } },
      template: {
        metadata: { labels: { app: id }, ...(annotations ? { annotations } : {}) },
        spec: { containers: [container('app', '32Gi')], initContainers: [container('proxy', '1Gi', { restartPolicy: 'Always' }), container('setup', '1Gi')] },
      },
    },
  });
}

/** An option, and what it must give the business pod. */
interface OptionCase {
  readonly name: string;
  readonly options: SharedMemoryOptions;
  readonly size: string;
  readonly volume: string;
  readonly mountedBy: readonly string[];
  /** The annotations that record the option on the pod template. */
  readonly annotations: Record<string, string>;
  /** The memory limits of app, proxy and setup afterwards. @default as declared */
  readonly limits?: readonly string[];
  /** The bindMountOptions of every /dev/shm mount. @default none */
  readonly mountOptions?: readonly string[];
}

const ALL = ['app', 'proxy', 'setup'];
const OPTIONS: OptionCase[] = [
  { name: 'ratio', options: { ratio: 0.25 }, size: '8Gi', volume: 'dshm', mountedBy: ALL, annotations: { [ANNOTATION('ratio')]: '0.25' } },
  { name: 'size', options: { size: GiB(1) }, size: '1Gi', volume: 'dshm', mountedBy: ALL, annotations: { [ANNOTATION('size')]: '1Gi' } },
  { name: 'minimum', options: { minimum: GiB(20) }, size: '20Gi', volume: 'dshm', mountedBy: ALL, annotations: { [ANNOTATION('minimum')]: '20Gi' } },
  { name: 'maximum', options: { maximum: GiB(4) }, size: '4Gi', volume: 'dshm', mountedBy: ALL, annotations: { [ANNOTATION('maximum')]: '4Gi' } },
  // only the app: the sidecar and the init container keep the runtime's /dev/shm
  { name: 'containers', options: { containers: ['app'] }, size: '16Gi', volume: 'dshm', mountedBy: ['app'], annotations: { [ANNOTATION('containers')]: 'app' } },
  {
    name: 'includeInitContainers',
    options: { includeInitContainers: false },
    size: '16Gi',
    volume: 'dshm',
    mountedBy: ['app'],
    annotations: { [ANNOTATION('include-init-containers')]: 'false' },
  },
  { name: 'volumeName', options: { volumeName: 'shm' }, size: '16Gi', volume: 'shm', mountedBy: ALL, annotations: { [ANNOTATION('volume-name')]: 'shm' } },
  // the runtime's flags on every mount of ours (what the pod carries asks every later way in for them too)
  {
    name: 'hardenMount',
    options: { hardenMount: true },
    size: '16Gi',
    volume: 'dshm',
    mountedBy: ALL,
    annotations: { [ANNOTATION('harden-mount')]: 'true' },
    mountOptions: ['nosuid', 'nodev', 'noexec'],
  },
  // shared memory on top: the app and the sidecar (they run beside each other) grow by 2Gi, the init container does not
  {
    name: 'limitFollows',
    options: { size: GiB(2), limitFollows: true },
    size: '2Gi',
    volume: 'dshm',
    mountedBy: ALL,
    annotations: { [ANNOTATION('limit-follows')]: 'true', [ANNOTATION('size')]: '2Gi', [ANNOTATION('declared-limits')]: 'app=32Gi,proxy=1Gi' },
    limits: ['34Gi', '3Gi', '1Gi'],
  },
];

/** The memory limits of app, proxy and setup in a pod template, canonical (cdk8s-plus writes 32768Mi for 32Gi). */
function limitsOf(template: any): string[] {
  const all = [...template.spec.containers, ...(template.spec.initContainers ?? [])];
  return ['app', 'proxy', 'setup'].map(name => formatBytes(bytesCeil(all.find((c: any) => c.name === name).resources.limits.memory)));
}

/** A construct way in: builds the business workload in an app and says which chart holds it. */
interface ConstructWayIn {
  readonly name: string;
  build(app: App, options: SharedMemoryOptions): Chart;
}

const CONSTRUCT_WAYS: ConstructWayIn[] = [
  {
    name: 'SharedMemoryDeployment',
    build: (app, options) => {
      const chart = new Chart(app, 'ml');
      new SharedMemoryDeployment(chart, 'web', { containers: [APP], initContainers: [PROXY, SETUP], sharedMemory: options });
      return chart;
    },
  },
  {
    name: 'SharedMemory.addTo on a Job',
    build: (app, options) => {
      const chart = new Chart(app, 'ml');
      SharedMemory.addTo(new kplus.Job(chart, 'train', { containers: [APP], initContainers: [PROXY, SETUP] }), options);
      return chart;
    },
  },
  {
    name: 'SharedMemory.applyToChart',
    build: (app, options) => {
      const chart = new Chart(app, 'ml');
      plainDeployment(chart, 'vendor');
      SharedMemory.applyToChart(chart, options);
      return chart;
    },
  },
  {
    // the inner chart's options stay: the outer applyToChart, with none of its own, finds nothing to change
    name: 'applyToChart on an inner chart, inside an applyToChart with defaults',
    build: (app, options) => {
      const outer = new Chart(app, 'platform');
      const inner = new Chart(outer, 'team');
      plainDeployment(inner, 'vendor');
      SharedMemory.applyToChart(inner, options);
      SharedMemory.applyToChart(outer);
      return inner; // cdk8s renders an object with its closest chart

    },
  },
  {
    // the agent shares at another path, so the pod keeps a per-pod /dev/shm of its own
    name: 'SharedMemoryAgent.share together with SharedMemory.addTo',
    build: (app, options) => {
      const chart = new Chart(app, 'ml');
      const agent = new SharedMemoryAgent(chart, 'agent', {
        containers: [{ name: 'agent', image: 'example/agent:1.0', resources: { memory: { limit: Size.mebibytes(256) } } }],
        domain: SharedMemoryDomain.tmpfs({ size: GiB(1) }),
        mountPath: '/run/agent',
        namespace: 'default',
        createNamespace: false,
      });
      const web = new kplus.Deployment(chart, 'web', { containers: [APP], initContainers: [PROXY, SETUP] });
      SharedMemory.addTo(web, options);
      agent.share(web);
      return chart;
    },
  },
];

/** The business workload among what a chart synthesized (the agent's own DaemonSet is not one). */
function businessWorkloads(objects: readonly any[]): any[] {
  return objects.filter(o => podTemplateOf(o) && o.kind !== 'DaemonSet');
}

function shmOf(template: any, volume: string): { size?: string; mountedBy: string[] } {
  const spec = template.spec;
  const found = (spec.volumes ?? []).find((v: any) => v.name === volume);
  const all = [...spec.containers, ...(spec.initContainers ?? [])];
  return {
    size: found?.emptyDir?.medium === 'Memory' ? found.emptyDir.sizeLimit : undefined,
    mountedBy: all.filter((c: any) => (c.volumeMounts ?? []).some((m: any) => m.name === volume && m.mountPath === '/dev/shm')).map((c: any) => c.name),
  };
}

/** A pod template as the Pod the API server sends the webhook. */
function podReview(workload: any, uid: string): any {
  const template = podTemplateOf(workload)!.template as any;
  return podCreateReview({ apiVersion: 'v1', kind: 'Pod', metadata: { ...template.metadata, name: `${workload.metadata.name}-0` }, spec: template.spec }, uid, 'ml');
}

let server: RunningServer;
let target: WebhookTarget;
beforeAll(async () => {
  const tls = makeTls();
  const files = writeTlsFiles(tls);
  const options = parseWebhookArgs(['--port', '0', '--tls-cert', files.certFile, '--tls-key', files.keyFile], {});
  server = await startWebhookServer({ ...options, host: '127.0.0.1', logger: createLogger('error', () => undefined) });
  target = { port: server.port, ca: tls.caPem };
});
afterAll(() => server.close());

describe.each(CONSTRUCT_WAYS)('$name', way => {
  test.each(OPTIONS)('$name: sized as asked, then unchanged by the webhook, inject, plan and check', async option => {
    const app = Testing.app();
    const chart = way.build(app, option.options);
    const objects = Testing.synth(chart);
    const [workload, ...others] = businessWorkloads(objects);
    expect(others).toEqual([]);
    const template = podTemplateOf(workload)!.template as any;

    // What the construct did, with the option's value.
    expect(shmOf(template, option.volume)).toEqual({ size: option.size, mountedBy: option.mountedBy });
    expect(template.metadata.annotations).toMatchObject({ [ANNOTATION('size-limit')]: option.size, ...option.annotations });
    expect(limitsOf(template)).toEqual(option.limits ?? ['32Gi', '1Gi', '1Gi']);
    const shmMounts = [...template.spec.containers, ...template.spec.initContainers ?? []].flatMap((c: any) => c.volumeMounts ?? []).filter((m: any) => m.mountPath === '/dev/shm');
    for (const mount of shmMounts) expect(mount.bindMountOptions).toEqual(option.mountOptions);

    // The webhook, over HTTPS: no patch.
    const admission = await admit(target, podReview(workload, `${way.name}-${option.name}`));
    expect(admission).toMatchObject({ allowed: true, ops: [] });

    // inject: byte for byte; plan: unchanged; check: exit 0.
    const yaml = Yaml.stringify(...objects);
    const injected = injectDocuments(yaml, resolvePolicy());
    expect(injected.output).toBe(yaml);
    expect(injected.workloads.filter(w => w.kind === workload.kind).map(w => w.plan.action)).toEqual(['unchanged']);
    const out: string[] = [];
    const code = await runCli(['check'], { stdout: t => out.push(t), stderr: t => out.push(t), readStdin: async () => yaml });
    expect({ code, out: out.join('') }).toEqual({ code: 0, out: expect.stringContaining('no /dev/shm change needed') });
  });
});

describe("a user's own annotation against an option", () => {
  test('the strict constructs refuse it, naming both', () => {
    const chart = Testing.chart();
    const web = new SharedMemoryDeployment(chart, 'web', {
      containers: [APP],
      podMetadata: { annotations: { [ANNOTATION('ratio')]: '0.3' } },
      sharedMemory: { ratio: 0.25 },
    });
    const name = `Deployment '${ApiObject.of(web).name}'`;
    expect(() => Testing.synth(chart)).toThrow(
      `${name} carries the annotation cdk8s-shm.io/ratio: "0.3", which contradicts the option 'ratio' (0.25) of SharedMemory.addTo() (add_to in Python): remove one of them`);
  });

  test('an annotated share against an explicit size is a contradiction too', () => {
    const chart = Testing.chart();
    new SharedMemoryDeployment(chart, 'web', { containers: [APP], podMetadata: { annotations: { [ANNOTATION('maximum')]: '2Gi' } }, sharedMemory: { size: GiB(1) } });
    expect(() => Testing.synth(chart)).toThrow("which contradicts the option 'size' (1Gi) of SharedMemory.addTo()");
  });

  test('the same value written otherwise is no contradiction', () => {
    const chart = Testing.chart();
    new SharedMemoryDeployment(chart, 'web', { containers: [APP], podMetadata: { annotations: { [ANNOTATION('ratio')]: '.250' } }, sharedMemory: { ratio: 0.25 } });
    expect(shmOf(podTemplateOf(Testing.synth(chart)[0])!.template, 'dshm').size).toBe('8Gi');
  });

  test('the lenient ways in let the annotation decide', () => {
    const chart = Testing.chart();
    plainDeployment(chart, 'vendor', { [ANNOTATION('ratio')]: '0.125' });
    SharedMemory.applyToChart(chart, { ratio: 0.25 });
    const template = podTemplateOf(Testing.synth(chart)[0])!.template as any;
    expect(shmOf(template, 'dshm').size).toBe('4Gi');
    // the option was overruled, so it is not written over the pod's own choice
    expect(template.metadata.annotations[ANNOTATION('ratio')]).toBe('0.125');
  });
});

describe('all errors at once, where they are', () => {
  test('one synthesis reports every impossible request, each with its construct path and Kubernetes name', () => {
    const chart = Testing.chart();
    const noLimit = new SharedMemoryDeployment(chart, 'no-limit', { containers: [{ name: 'app', image: 'example/app:1.0', resources: {} }] });
    const small = new SharedMemoryDeployment(chart, 'small', { containers: [{ ...APP, resources: { memory: { limit: Size.mebibytes(100) } } }] });
    const ghost = new SharedMemoryDeployment(chart, 'ghost', { containers: [APP], sharedMemory: { containers: ['app', 'ghost'] } });
    let message = '';
    try {
      Testing.synth(chart);
    } catch (error) {
      message = (error as Error).message;
    }
    const name = (workload: kplus.Deployment) => `Deployment '${ApiObject.of(workload).name}'`;
    expect(message.split('\n').filter(line => line.startsWith('  ['))).toEqual([
      `  [test/no-limit/Resource] ${name(noLimit)}: container 'app' has no memory limit, so /dev/shm cannot be sized from a limit: `
      + "set 'resources.memory.limit' (for example Size.gibibytes(4))",
      `  [test/small/Resource] ${name(small)}: 50Mi from the ratio is below the runtime's default 64Mi, which the pod keeps: `
      + "set 'minimum' or 'size', or remove SharedMemory.addTo() (add_to in Python)",
      `  [test/ghost/Resource] 'containers' names 'ghost', which is not a container of ${name(ghost)}`,
    ]);
    expect(message).not.toContain('Failed serializing construct');
  });
});

describe('one plan per synthesis', () => {
  /** Counts renders: a resolver sees every value of every rendering, the object's name among them once. */
  function countingApp(): { app: App; renders: () => number } {
    let count = 0;
    const app = new App({ resolvers: [{ resolve: context => { if (context.key.join('.') === 'metadata.name' && context.value === 'counted') count++; } }] });
    return { app, renders: () => count };
  }

  test('app.synthYaml renders a sized object once, as it renders a plain one', () => {
    const plain = countingApp();
    new kplus.Deployment(new Chart(plain.app, 'c'), 'web', { metadata: { name: 'counted' }, containers: [APP] });
    plain.app.synthYaml();
    const sized = countingApp();
    new SharedMemoryDeployment(new Chart(sized.app, 'c'), 'web', { metadata: { name: 'counted' }, containers: [APP] });
    sized.app.synthYaml();
    expect([plain.renders(), sized.renders()]).toEqual([1, 1]);
  });

  test('a workload changed after a synthesis is planned again', () => {
    const chart = Testing.chart();
    const web = new SharedMemoryDeployment(chart, 'web', { containers: [APP] });
    expect(shmOf(podTemplateOf(Testing.synth(chart)[0])!.template, 'dshm').mountedBy).toEqual(['app']);
    web.addContainer({ name: 'late', image: 'example/late:1.0', resources: { memory: { limit: GiB(64) } } });
    expect(shmOf(podTemplateOf(Testing.synth(chart)[0])!.template, 'dshm')).toEqual({ size: '32Gi', mountedBy: ['app', 'late'] });
  });

  test('a synthesis that failed is planned again once the problem is fixed', () => {
    const chart = Testing.chart();
    const web = new SharedMemoryDeployment(chart, 'web', { containers: [{ name: 'app', image: 'example/app:1.0', resources: {} }] });
    expect(() => Testing.synth(chart)).toThrow('has no memory limit');
    web.podMetadata.addAnnotation(ANNOTATION('size'), '1Gi');
    expect(shmOf(podTemplateOf(Testing.synth(chart)[0])!.template, 'dshm').size).toBe('1Gi');
  });

  test('another chart synthesized in between does not keep an old plan', () => {
    const app = Testing.app();
    const a = new Chart(app, 'a');
    const b = new Chart(app, 'b');
    new SharedMemoryDeployment(a, 'web', { containers: [APP] });
    const worker = new SharedMemoryDeployment(b, 'worker', { containers: [APP] });
    Testing.synth(a);
    worker.addContainer({ name: 'late', image: 'example/late:1.0', resources: { memory: { limit: GiB(64) } } });
    expect(shmOf(podTemplateOf(Testing.synth(b)[0])!.template, 'dshm')).toEqual({ size: '32Gi', mountedBy: ['app', 'late'] });
  });
});

describe('the sizing rule gives the same answer through every way in', () => {
  const c = (name: string, memory?: string, extra: object = {}) => ({ name, image: `example/${name}:1.0`, ...(memory ? { resources: { limits: { memory } } } : {}), ...extra });
  // [case, pod spec, the size the core gives (undefined: left alone)]
  const cases: Array<[string, any, string | undefined]> = [
    ['PyTorch: app 32Gi, init container without a limit', { containers: [c('trainer', '32Gi')], initContainers: [c('git-clone')] }, '16Gi'],
    ['two containers of 2Gi', { containers: [c('web', '2Gi'), c('worker', '2Gi')] }, '1Gi'],
    ['sidecar 512Mi beside an app of 1Gi', { containers: [c('app', '1Gi')], initContainers: [c('proxy', '512Mi', { restartPolicy: 'Always' })] }, '512Mi'],
    ['app 2Gi after a plain init container of 8Gi', { containers: [c('app', '2Gi')], initContainers: [c('warmup', '8Gi')] }, '1Gi'],
    ['pod-level 6Gi, no container limits', { resources: { limits: { memory: '6Gi' } }, containers: [c('a'), c('b')] }, '3Gi'],
    ['100Mi: below the runtime default', { containers: [c('exporter', '100Mi')] }, undefined],
    ['the windows-exporter shape', {
      securityContext: { windowsOptions: { hostProcess: true } }, nodeSelector: { 'kubernetes.io/os': 'windows' }, containers: [c('exporter', '256Mi')],
    }, undefined],
  ];

  test.each(cases)('%s', async (name, spec, size) => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec };
    // applyToChart, on the pod as an ApiObject
    const chart = Testing.chart();
    new ApiObject(chart, 'p', pod);
    SharedMemory.applyToChart(chart);
    const viaConstruct = Testing.synth(chart)[0];
    // the webhook, over HTTPS
    const admission = await admit(target, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: name, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'CREATE', object: pod,
      },
    });
    // inject (JSON is YAML too)
    const injected = injectDocuments(JSON.stringify(pod), resolvePolicy()).workloads[0].plan;
    const shmSize = (p: any) => (p.spec.volumes ?? []).find((v: any) => v.name === 'dshm')?.emptyDir.sizeLimit;
    expect({ construct: shmSize(viaConstruct), webhook: shmSize(admission.patched), cli: injected.size })
      .toEqual({ construct: size, webhook: size, cli: size });
    // and every one of them mounts it in the same containers
    const mounted = (p: any) => [...p.spec.containers, ...(p.spec.initContainers ?? [])]
      .filter((x: any) => (x.volumeMounts ?? []).some((m: any) => m.mountPath === '/dev/shm')).map((x: any) => x.name);
    expect(mounted(admission.patched)).toEqual(mounted(viaConstruct));
  });
});
