import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, Chart, Cron, Include, JsonPatch, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { SharedMemory, withSharedMemory } from '../../../src';
import { podRuleViolations } from '../../support/pod-rules';
import { expectValidAgainstSchema } from '../../support/schema';
import { SharedMemoryDeployment } from 'cdk8s-shm-plus-28';

const GiB = (n: number) => Size.gibibytes(n);

function container(name: string, limit?: Size): kplus.ContainerProps {
  return { name, image: `example/${name}:1.0`, resources: limit ? { memory: { limit } } : { cpu: { limit: kplus.Cpu.millis(500) } } };
}

/** How synthesis errors name Deployment 'web' of a `Testing.chart()`: by kind and Kubernetes name. */
const WEB = `Deployment '${ApiObject.of(new kplus.Deployment(Testing.chart(), 'web')).name}'`;

function synthOne(chart: Chart, kind: string): any {
  const objects = Testing.synth(chart);
  const found = objects.filter(o => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
}

function templateOf(object: any): any {
  return object.kind === 'CronJob' ? object.spec.jobTemplate.spec.template : object.kind === 'Pod' ? object : object.spec.template;
}

function shmVolume(podSpec: any): any {
  return (podSpec.volumes ?? []).find((v: any) => v.name === 'dshm');
}

function shmMountCount(c: any): number {
  return (c.volumeMounts ?? []).filter((m: any) => m.name === 'dshm' && m.mountPath === '/dev/shm').length;
}

describe('SharedMemoryDeployment', () => {
  test('sizes /dev/shm at half the pod memory limit and mounts it in every container', () => {
    const chart = Testing.chart();
    new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(4))] });
    const deployment = synthOne(chart, 'Deployment');
    const template = deployment.spec.template;

    expect(template.spec.containers[0].resources.limits.memory).toBe('4096Mi');
    expect(shmVolume(template.spec)).toEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '2Gi' } });
    expect(shmMountCount(template.spec.containers[0])).toBe(1);
    expect(template.metadata.annotations['cdk8s-shm.io/size-limit']).toBe('2Gi');
    expectValidAgainstSchema([deployment]);
    expect(podRuleViolations(template.spec)).toEqual([]);
  });

  test('covers containers added after construction, and sizes from the final limit', () => {
    const chart = Testing.chart();
    const deployment = new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(2))] });
    deployment.addContainer(container('sidecar', GiB(1)));
    deployment.addInitContainer(container('migrate', GiB(1)));
    const template = synthOne(chart, 'Deployment').spec.template;

    // half of the largest writer (app, 2Gi); the pod limit (2Gi + 1Gi) only caps it, and the plain
    // init container (1Gi) runs alone before them.
    expect(shmVolume(template.spec).emptyDir.sizeLimit).toBe('1Gi');
    for (const c of [...template.spec.containers, ...template.spec.initContainers]) expect(shmMountCount(c)).toBe(1);
    expect(deployment.sharedMemory.decisions).toEqual([expect.objectContaining({ action: 'inject', podMemoryLimit: '3Gi', size: '1Gi' })]);
  });

  test('options: ratio, explicit size, bounds, volume name and container selection', () => {
    const chart = Testing.chart();
    new SharedMemoryDeployment(chart, 'ratio', { containers: [container('a', GiB(10))], sharedMemory: { ratio: 0.25 } });
    new SharedMemoryDeployment(chart, 'size', { containers: [container('a', GiB(10))], sharedMemory: { size: Size.mebibytes(1500) } });
    new SharedMemoryDeployment(chart, 'max', { containers: [container('a', GiB(10))], sharedMemory: { maximum: GiB(1) } });
    new SharedMemoryDeployment(chart, 'min', { containers: [container('a', Size.mebibytes(256))], sharedMemory: { minimum: Size.mebibytes(200) } });
    new SharedMemoryDeployment(chart, 'named', {
      containers: [container('a', GiB(2)), container('b', GiB(2))],
      sharedMemory: { volumeName: 'shm', containers: ['b'] },
    });
    const byName = new Map<string, any>(Testing.synth(chart).map(o => [o.metadata.name.split('-')[1], o.spec.template.spec]));

    expect(shmVolume(byName.get('ratio')).emptyDir.sizeLimit).toBe('2560Mi');
    expect(shmVolume(byName.get('size')).emptyDir.sizeLimit).toBe('1500Mi');
    expect(shmVolume(byName.get('max')).emptyDir.sizeLimit).toBe('1Gi');
    expect(shmVolume(byName.get('min')).emptyDir.sizeLimit).toBe('200Mi');
    const named = byName.get('named');
    expect(named.volumes).toEqual([{ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }]);
    expect(named.containers[0].volumeMounts ?? []).toEqual([]);
    expect(named.containers[1].volumeMounts).toEqual([{ name: 'shm', mountPath: '/dev/shm' }]);
  });

  test('a container without a memory limit beside one with a limit is sized from the other, with a warning naming it', () => {
    const chart = Testing.chart();
    const deployment = new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(1)), container('logger')] });
    const spec = synthOne(chart, 'Deployment').spec.template.spec;
    expect(shmVolume(spec).emptyDir.sizeLimit).toBe('512Mi');
    expect(deployment.sharedMemory.decisions[0].warnings).toEqual(["container 'logger' has no memory limit; the /dev/shm pages it writes are not bounded"]);
  });

  test('a container given no resources is refused: cdk8s-plus-28 would give it a 2048Mi limit nobody chose', () => {
    const chart = Testing.chart();
    const bare = { name: 'app', image: 'example/app:1.0' };
    expect(() => new SharedMemoryDeployment(chart, 'web', { containers: [bare] })).toThrow(
      "container 'app' of SharedMemoryDeployment 'web' has no 'resources': cdk8s-plus-28 would give it a 2048Mi memory limit nobody chose");
    const deployment = new SharedMemoryDeployment(chart, 'ok', { containers: [container('app', GiB(1))] });
    expect(() => deployment.addContainer({ name: 'later', image: 'example/later:1.0' })).toThrow("container 'later' of SharedMemoryDeployment 'ok'");
  });

  test('limitFollows: the application keeps its limit, shared memory comes on top (the README\'s numbers)', () => {
    const chart = Testing.chart();
    new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(12))], sharedMemory: { size: Size.mebibytes(2560), limitFollows: true } });
    const template = synthOne(chart, 'Deployment').spec.template;
    expect(template.spec.containers[0].resources.limits.memory).toBe('14848Mi');
    expect(shmVolume(template.spec).emptyDir.sizeLimit).toBe('2560Mi');
    expect(template.metadata.annotations).toMatchObject({ 'cdk8s-shm.io/declared-limits': 'app=12Gi', 'cdk8s-shm.io/limit-follows': 'true' });
  });

  test('no container with a memory limit fails synthesis, naming the containers and the fix', () => {
    const chart = Testing.chart();
    new SharedMemoryDeployment(chart, 'web', { containers: [container('app'), container('logger')] });
    expect(() => Testing.synth(chart)).toThrow(
      `${WEB}: containers 'app', 'logger' have no memory limit, so /dev/shm cannot be sized from a limit: `
      + "set 'resources.memory.limit' (for example Size.gibibytes(4))");
  });

  test('a share below the runtime default fails synthesis, with the fix', () => {
    const chart = Testing.chart();
    new SharedMemoryDeployment(chart, 'web', { containers: [container('app', Size.mebibytes(100))] });
    expect(() => Testing.synth(chart)).toThrow(
      `${WEB}: 50Mi from the ratio is below the runtime's default 64Mi, which the pod keeps: set 'minimum' or 'size', or remove SharedMemory.addTo()`);
  });

  test('a size above the pod memory limit fails synthesis with both values', () => {
    const chart = Testing.chart();
    new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(2))], sharedMemory: { size: GiB(3) } });
    expect(() => Testing.synth(chart)).toThrow(`'size' (3Gi) must not exceed the pod memory limit (2Gi) of ${WEB}`);
  });

  test('a minimum above the pod memory limit fails synthesis', () => {
    const chart = Testing.chart();
    new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(1))], sharedMemory: { minimum: GiB(2) } });
    expect(() => Testing.synth(chart)).toThrow(`'minimum' (2Gi) must not exceed the pod memory limit (1Gi) of ${WEB}`);
  });

  test.each([
    ['ratio 0', { ratio: 0 }, "'ratio' (0) must be greater than 0 and at most 1"],
    ['ratio 1.5', { ratio: 1.5 }, "'ratio' (1.5) must be greater than 0 and at most 1"],
    ['size with ratio', { size: GiB(1), ratio: 0.3 }, "'size' (1Gi) and 'ratio' (0.3) cannot both be set"],
    ['minimum above maximum', { minimum: GiB(2), maximum: GiB(1) }, "'minimum' (2Gi) must not exceed 'maximum' (1Gi)"],
    ['bad volume name', { volumeName: 'Dev_Shm' }, "'volumeName' (volume_name in Python) (\"Dev_Shm\") must be a DNS-1123 label"],
  ])('impossible options are refused at construction: %s', (_label, sharedMemory, message) => {
    const chart = Testing.chart();
    expect(() => new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(1))], sharedMemory }))
      .toThrow(message);
  });

  test('an unknown container name fails synthesis', () => {
    const chart = Testing.chart();
    new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(1))], sharedMemory: { containers: ['app', 'ghost'] } });
    expect(() => Testing.synth(chart)).toThrow(`'containers' names 'ghost', which is not a container of ${WEB}`);
  });

  test('a user mount at /dev/shm conflicts, and the message says how to resolve it', () => {
    const chart = Testing.chart();
    const deployment = new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(1))] });
    const scratch = kplus.Volume.fromEmptyDir(chart, 'scratch', 'scratch', { medium: kplus.EmptyDirMedium.MEMORY, sizeLimit: Size.mebibytes(256) });
    deployment.containers[0].mount('/dev/shm', scratch);
    expect(() => Testing.synth(chart)).toThrow(
      `${WEB}: container 'app' already mounts volume 'scratch' at /dev/shm; remove that mount to let SharedMemory size /dev/shm`);
  });

  test('a user /dev/shm without sizeLimit is refused with the fix, and sized with sizeUnboundedShm', () => {
    const build = (sizeUnboundedShm?: boolean) => {
      const chart = Testing.chart();
      const deployment = new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(1))], sharedMemory: { sizeUnboundedShm } });
      deployment.containers[0].mount('/dev/shm', kplus.Volume.fromEmptyDir(chart, 'scratch', 'scratch', { medium: kplus.EmptyDirMedium.MEMORY }));
      return chart;
    };
    expect(() => Testing.synth(build())).toThrow(
      `${WEB}: container 'app' already mounts volume 'scratch' at /dev/shm, a memory-backed emptyDir without sizeLimit that may grow `
      + "to the node's memory (kubernetes#125852); the rule would give it 512Mi (set sizeUnboundedShm); set 'sizeUnboundedShm' (size_unbounded_shm in Python) to size it");
    const template = synthOne(build(true), 'Deployment').spec.template;
    expect(template.spec.volumes).toEqual([{ name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '512Mi' } }]);
    expect(template.metadata.annotations).toMatchObject({
      'cdk8s-shm.io/size-limit': '512Mi', 'cdk8s-shm.io/volume-name': 'scratch', 'cdk8s-shm.io/containers': 'app', 'cdk8s-shm.io/size-unbounded-shm': 'true',
    });
  });

  test('hostIPC conflicts', () => {
    const chart = Testing.chart();
    const deployment = new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(1))] });
    // cdk8s-plus 2.5 has no hostIPC prop; users set it with an escape hatch (L1 field name hostIpc).
    ApiObject.of(deployment).addJsonPatch(JsonPatch.add('/spec/template/spec/hostIpc', true));
    expect(() => Testing.synth(chart)).toThrow(`${WEB} sets 'hostIPC' to true, so /dev/shm is the node's own`);
  });

  test('synthesizing twice gives the same output (the patch is idempotent)', () => {
    const chart = Testing.chart();
    new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(4))] });
    const first = Testing.synth(chart);
    const second = Testing.synth(chart);
    expect(second).toEqual(first);
    expect(shmVolume(second[0].spec.template.spec).emptyDir.sizeLimit).toBe('2Gi');
  });
});

describe('SharedMemory.addTo / withSharedMemory', () => {
  test('every cdk8s-plus pod workload kind', () => {
    const chart = Testing.chart();
    const containers = [container('app', GiB(2))];
    withSharedMemory(new kplus.Deployment(chart, 'deployment', { containers }));
    withSharedMemory(new kplus.StatefulSet(chart, 'statefulset', {
      containers,
      service: new kplus.Service(chart, 'svc', { ports: [{ port: 80 }] }),
    }));
    withSharedMemory(new kplus.DaemonSet(chart, 'daemonset', { containers }));
    withSharedMemory(new kplus.Job(chart, 'job', { containers }));
    withSharedMemory(new kplus.CronJob(chart, 'cronjob', { containers, schedule: Cron.hourly() }));
    withSharedMemory(new kplus.Pod(chart, 'pod', { containers }));

    const objects = Testing.synth(chart);
    const workloads = objects.filter(o => o.kind !== 'Service');
    expect(workloads.map(o => o.kind).sort()).toEqual(['CronJob', 'DaemonSet', 'Deployment', 'Job', 'Pod', 'StatefulSet']);
    for (const workload of workloads) {
      const template = templateOf(workload);
      expect(shmVolume(template.spec)).toEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } });
      expect(shmMountCount(template.spec.containers[0])).toBe(1);
      expect(podRuleViolations(template.spec)).toEqual([]);
    }
    expectValidAgainstSchema(objects);
  });

  test('hardenMount: the mounts carry the runtime\'s nosuid,nodev,noexec, with the warning of what they need', () => {
    const chart = Testing.chart();
    const deployment = new kplus.Deployment(chart, 'web', { containers: [container('app', GiB(2))] });
    const shm = SharedMemory.addTo(deployment, { hardenMount: true });
    const spec = synthOne(chart, 'Deployment').spec.template.spec;
    expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'dshm', mountPath: '/dev/shm', bindMountOptions: ['nosuid', 'nodev', 'noexec'] });
    expect(shm.decisions[0].warnings).toContainEqual(expect.stringContaining('needs VolumeBindMountOptions (1.37+); without it the API server drops them'));
  });

  test('withSharedMemory returns the workload, for chaining', () => {
    const chart = Testing.chart();
    const deployment = new kplus.Deployment(chart, 'web', { containers: [container('app', GiB(1))] });
    expect(withSharedMemory(deployment, { ratio: 0.5 })).toBe(deployment);
  });

  test('sidecars count toward the limit and get the mount', () => {
    const chart = Testing.chart();
    const deployment = new kplus.Deployment(chart, 'web', { containers: [container('app', GiB(2))] });
    deployment.addInitContainer({ ...container('proxy', GiB(1)), restartPolicy: kplus.ContainerRestartPolicy.ALWAYS });
    SharedMemory.addTo(deployment);
    const spec = synthOne(chart, 'Deployment').spec.template.spec;
    expect(spec.initContainers[0].restartPolicy).toBe('Always');
    expect(shmVolume(spec).emptyDir.sizeLimit).toBe('1Gi'); // the larger writer: app 2Gi
    expect(shmMountCount(spec.initContainers[0])).toBe(1);
  });

  test('includeInitContainers: false leaves init containers on the runtime default', () => {
    const chart = Testing.chart();
    const job = new kplus.Job(chart, 'job', { containers: [container('train', GiB(8))] });
    job.addInitContainer(container('fetch', GiB(1)));
    SharedMemory.addTo(job, { includeInitContainers: false });
    const spec = synthOne(chart, 'Job').spec.template.spec;
    expect(shmMountCount(spec.containers[0])).toBe(1);
    expect(shmMountCount(spec.initContainers[0])).toBe(0);
  });

  test('calling addTo twice on one workload is refused', () => {
    const chart = Testing.chart();
    const deployment = new kplus.Deployment(chart, 'web', { containers: [container('app', GiB(1))] });
    SharedMemory.addTo(deployment);
    expect(() => SharedMemory.addTo(deployment)).toThrow("SharedMemory.addTo() (add_to in Python) was already called for Deployment 'web'");
  });
});

describe('SharedMemory.applyToChart', () => {
  const thirdParty = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: vllm }
spec:
  selector: { matchLabels: { app: vllm } }
  template:
    metadata: { labels: { app: vllm } }
    spec:
      containers:
        - name: server
          image: vllm/vllm-openai:v0.6.0
          resources: { limits: { memory: 32Gi } }
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: report }
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: chrome
              image: example/headless-chrome:1.0
              resources: { limits: { memory: 3Gi } }
---
apiVersion: v1
kind: Pod
metadata: { name: nolimit }
spec:
  containers:
    - name: app
      image: example/app:1.0
---
apiVersion: v1
kind: Pod
metadata: { name: hostipc }
spec:
  hostIPC: true
  containers:
    - name: app
      image: example/app:1.0
      resources: { limits: { memory: 1Gi } }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { a: b }
`;

  function includeChart(): Chart {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-'));
    const file = path.join(dir, 'third-party.yaml');
    fs.writeFileSync(file, thirdParty);
    const chart = Testing.chart();
    new Include(chart, 'third-party', { url: file });
    return chart;
  }

  test('fixes included objects and leaves what it cannot size untouched, with a reason', () => {
    const chart = includeChart();
    const sharedMemory = SharedMemory.applyToChart(chart);
    const objects = Testing.synth(chart);
    const byName = new Map<string, any>(objects.map(o => [o.metadata.name, o]));

    expect(shmVolume(byName.get('vllm').spec.template.spec).emptyDir.sizeLimit).toBe('16Gi');
    expect(shmMountCount(byName.get('vllm').spec.template.spec.containers[0])).toBe(1);
    const cronSpec = byName.get('report').spec.jobTemplate.spec.template.spec;
    expect(shmVolume(cronSpec).emptyDir.sizeLimit).toBe('1536Mi');
    expect(byName.get('nolimit').spec.volumes).toBeUndefined();
    expect(byName.get('hostipc').spec.volumes).toBeUndefined();
    expect(byName.get('settings')).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { a: 'b' } });

    const decisions = new Map(sharedMemory.decisions.map(d => [d.object, d]));
    expect(decisions.get("Pod 'nolimit'")).toEqual(expect.objectContaining({ action: 'skip', reason: 'no-memory-limit' }));
    expect(decisions.get("Pod 'hostipc'")).toEqual(expect.objectContaining({ action: 'skip', reason: 'host-ipc' }));
    expect(decisions.get("Deployment 'vllm'")).toEqual(expect.objectContaining({ action: 'inject', size: '16Gi', podMemoryLimit: '32Gi' }));
    expectValidAgainstSchema(objects);
  });

  test('leaves workloads handled by addTo to their own options', () => {
    const chart = includeChart();
    const own = new kplus.Deployment(chart, 'own', { containers: [container('app', GiB(4))] });
    SharedMemory.addTo(own, { ratio: 0.25 });
    SharedMemory.applyToChart(chart, { ratio: 0.75 });
    const objects = Testing.synth(chart);
    const ownSpec = objects.find(o => o.metadata.name.startsWith('test-own'))!.spec.template.spec;
    expect(shmVolume(ownSpec).emptyDir.sizeLimit).toBe('1Gi');
    expect(shmVolume(objects.find(o => o.metadata.name === 'vllm')!.spec.template.spec).emptyDir.sizeLimit).toBe('24Gi');
  });

  test('covers objects added to the chart after the call', () => {
    const chart = Testing.chart();
    SharedMemory.applyToChart(chart);
    new ApiObject(chart, 'late', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'late' },
      spec: { containers: [{ name: 'a', image: 'a:1', resources: { limits: { memory: '6Gi' } } }] },
    } as any);
    const pod = Testing.synth(chart).find(o => o.metadata.name === 'late');
    expect(shmVolume(pod.spec)).toEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '3Gi' } });
    expect(shmMountCount(pod.spec.containers[0])).toBe(1);
  });

  test('a cdk8s-plus workload in the chart gets the same treatment as through addTo', () => {
    const chart = Testing.chart();
    SharedMemory.applyToChart(chart, { ratio: 0.25 });
    new kplus.Deployment(chart, 'web', { containers: [container('app', GiB(8))] });
    const spec = synthOne(chart, 'Deployment').spec.template.spec;
    expect(shmVolume(spec).emptyDir.sizeLimit).toBe('2Gi');
    expect(podRuleViolations(spec)).toEqual([]);
  });

  test('respects pod annotations: opt-out and explicit size', () => {
    const chart = Testing.chart();
    const base = { containers: [{ name: 'a', image: 'a:1', resources: { limits: { memory: '2Gi' } } }] };
    new ApiObject(chart, 'out', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'out', annotations: { 'cdk8s-shm.io/inject': 'false' } }, spec: base } as any);
    new ApiObject(chart, 'sized', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'sized', annotations: { 'cdk8s-shm.io/size': '300Mi' } }, spec: base } as any);
    SharedMemory.applyToChart(chart);
    const objects = new Map<string, any>(Testing.synth(chart).map(o => [o.metadata.name, o]));
    expect(objects.get('out').spec.volumes).toBeUndefined();
    expect(shmVolume(objects.get('sized').spec).emptyDir.sizeLimit).toBe('300Mi');
  });
});

describe('warnings reach the user at synthesis, once, and never beside an error that contradicts them', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  test('a decision\'s warnings, with the construct path and the Kubernetes name', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'ml');
    const web = new SharedMemoryDeployment(chart, 'web', { containers: [container('app', GiB(1)), container('logger')] });
    app.synthYaml(); // validates twice, renders once
    expect(warn.mock.calls.map(c => c[0])).toEqual([
      `[ml/web/Resource] Warning: Deployment '${ApiObject.of(web).name}': container 'logger' has no memory limit; the /dev/shm pages it writes are not bounded`,
    ]);
  });

  test('an app of several charts validates once per chart; the warning is written once', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'ml');
    const web = new kplus.Deployment(chart, 'web', { containers: [container('app', GiB(2))] });
    SharedMemory.addTo(web, { size: GiB(2) });
    new Chart(app, 'other');
    new Chart(app, 'third');
    app.synth();
    expect(warn.mock.calls.map(c => c[0])).toEqual([
      `[ml/web/Resource] Warning: Deployment '${ApiObject.of(web).name}': /dev/shm 2Gi equals the 2Gi limit of container 'app': shm alone can OOM it`,
    ]);
  });

  test('a size the strict construct refuses is not first said to be capped', () => {
    const chart = Testing.chart();
    SharedMemory.addTo(new kplus.Deployment(chart, 'web', { containers: [container('app', GiB(1))] }), { size: GiB(2) });
    expect(() => Testing.synth(chart)).toThrow(`'size' (2Gi) must not exceed the pod memory limit (1Gi) of ${WEB}`);
    expect(warn).not.toHaveBeenCalled();
  });

  test('why a lenient claim left an object alone; quiet skips stay quiet', () => {
    const chart = Testing.chart();
    new ApiObject(chart, 'nolimit', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nolimit' }, spec: { containers: [{ name: 'app', image: 'x' }] } });
    new ApiObject(chart, 'out', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'out', annotations: { 'cdk8s-shm.io/inject': 'false' } }, spec: { containers: [{ name: 'app', image: 'x' }] },
    });
    SharedMemory.applyToChart(chart);
    Testing.synth(chart);
    expect(warn.mock.calls.map(c => c[0])).toEqual([
      "[test/nolimit] Warning: Pod 'nolimit': no /dev/shm: container 'app' has no memory limit, so /dev/shm cannot be sized from a limit",
    ]);
  });
});

describe('SharedMemory has no constructor to call', () => {
  // TypeScript refuses `new SharedMemory()` (protected); JavaScript, and Python through jsii, reach it.
  const construct = SharedMemory as unknown as new (...args: unknown[]) => SharedMemory;
  const TOLD = 'SharedMemory is not made with a constructor (`new SharedMemory()`, `SharedMemory(...)` in Python): '
    + 'call SharedMemory.addTo() (add_to in Python) for one workload, or SharedMemory.applyToChart() (apply_to_chart in Python) for every workload of a chart';

  test.each([
    ['a scope and an id, as a construct is made', (chart: Chart) => [chart, 'shm']],
    ['a workload and options', (chart: Chart) => [new kplus.Deployment(chart, 'web', { containers: [container('app', GiB(4))] }), undefined, { ratio: 0.25 }]],
    ['nothing', () => []],
  ])('with %s, it says what to call instead, and adds nothing to the tree', (_label, args) => {
    const chart = Testing.chart();
    const given = args(chart);
    expect(() => new construct(...given)).toThrow(TOLD);
    expect(chart.node.findAll().filter(c => c.node.id === 'SharedMemory')).toEqual([]);
    // So the calls it points to still work.
    SharedMemory.applyToChart(chart);
  });
});

describe('a refused call can be made again with good options', () => {
  test('addTo', () => {
    const chart = Testing.chart();
    const web = new kplus.Deployment(chart, 'web', { containers: [container('app', GiB(4))] });
    expect(() => SharedMemory.addTo(web, { ratio: 2 })).toThrow("'ratio' (2) must be greater than 0 and at most 1");
    SharedMemory.addTo(web, { ratio: 0.25 });
    expect(shmVolume(templateOf(synthOne(chart, 'Deployment')).spec).emptyDir.sizeLimit).toBe('1Gi');
  });

  test('applyToChart', () => {
    const chart = Testing.chart();
    new kplus.Deployment(chart, 'web', { containers: [container('app', GiB(4))] });
    expect(() => SharedMemory.applyToChart(chart, { maximum: Size.mebibytes(32) })).toThrow("'maximum' (32Mi) is below the runtime's own 64Mi /dev/shm");
    SharedMemory.applyToChart(chart, { maximum: GiB(1) });
    expect(shmVolume(templateOf(synthOne(chart, 'Deployment')).spec).emptyDir.sizeLimit).toBe('1Gi');
  });
});

describe("cdk8s-shm.io/ annotations on the workload's own metadata reach no pod", () => {
  const misplaced = (chart: Chart) => new kplus.Deployment(chart, 'web', {
    metadata: { annotations: { 'cdk8s-shm.io/ratio': '0.25' } },
    containers: [container('app', GiB(4))],
  });

  test('addTo refuses them, naming the annotation and where it belongs', () => {
    const chart = Testing.chart();
    SharedMemory.addTo(misplaced(chart));
    expect(() => Testing.synth(chart)).toThrow(`${WEB}: annotation cdk8s-shm.io/ratio on the Deployment's own metadata reaches no pod: `
      + 'move it to spec.template.metadata.annotations');
  });

  test('applyToChart sizes the pod by its own annotations and warns', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const chart = Testing.chart();
      misplaced(chart);
      const sharedMemory = SharedMemory.applyToChart(chart);
      expect(shmVolume(templateOf(synthOne(chart, 'Deployment')).spec).emptyDir.sizeLimit).toBe('2Gi');
      expect(sharedMemory.decisions[0].warnings).toEqual(["annotation cdk8s-shm.io/ratio on the Deployment's own metadata reaches no pod: move it to spec.template.metadata.annotations"]);
      expect(warn.mock.calls.map(c => c[0])).toEqual([expect.stringContaining("annotation cdk8s-shm.io/ratio on the Deployment's own metadata reaches no pod")]);
    } finally {
      warn.mockRestore();
    }
  });

  test('the same annotation on the pod template as well is honoured there, and no problem', () => {
    const chart = Testing.chart();
    const web = new kplus.Deployment(chart, 'web', {
      metadata: { annotations: { 'cdk8s-shm.io/ratio': '0.25' } },
      podMetadata: { annotations: { 'cdk8s-shm.io/ratio': '0.25' } },
      containers: [container('app', GiB(4))],
    });
    SharedMemory.addTo(web);
    expect(shmVolume(templateOf(synthOne(chart, 'Deployment')).spec).emptyDir.sizeLimit).toBe('1Gi');
  });
});

describe('addTo refuses pod annotations it cannot honour', () => {
  test.each<[string, Record<string, string>, string]>([
    ['a key that is none of ours', { 'cdk8s-shm.io/sise': '1Gi' }, "carries cdk8s-shm.io/sise, which cannot be honoured: annotation cdk8s-shm.io/sise is not one of cdk8s-shm's"],
    ['a container the pod lacks', { 'cdk8s-shm.io/containers': 'app,ghost' },
      "carries cdk8s-shm.io/containers, which cannot be honoured: container 'ghost' named in cdk8s-shm.io/containers is not in the pod"],
    ['a maximum below the runtime\'s 64Mi', { 'cdk8s-shm.io/maximum': '64M' }, "'cdk8s-shm.io/maximum' (64M) is below the runtime's own 64Mi /dev/shm"],
  ])('%s', (_name, annotations, message) => {
    const chart = Testing.chart();
    SharedMemory.addTo(new kplus.Deployment(chart, 'web', { podMetadata: { annotations }, containers: [container('app', GiB(4))] }));
    expect(() => Testing.synth(chart)).toThrow(message);
  });
});
