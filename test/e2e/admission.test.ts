/**
 * Area 2: the real API server calls the webhook. The shipped bundle runs as a local process with
 * the arguments SharedMemoryWebhook deploys it with, registered with the configuration the
 * construct synthesizes (only its clientConfig turned into a url on 127.0.0.1). Pods created
 * directly, and those the controller manager makes of Deployments, StatefulSets, Jobs and CronJobs,
 * come back from the API with exactly the core's /dev/shm; opted-out pods, excluded namespaces,
 * kube-system and the webhook's own namespace are untouched; a second webhook later in the chain
 * makes the API server call ours again, and the pod converges; with the webhook down, `Ignore`
 * admits pods unchanged and `Fail` refuses them.
 */
import * as https from 'https';
import { AddressInfo } from 'net';
import { WebhookFailurePolicy, WebhookTls } from '../../src';
import { Kube, eventually } from './support/kube';
import { comparable, devShmOf, expectedPod } from './support/pods';
import { listeningAddresses } from './support/processes';
import { area, count } from './support/summary';
import { LocalWebhook, RegisteredWebhook, only, registerLocalWebhook, synthWebhook, withUrl } from './support/webhook';
import { parseWebhookArgs } from '../../src/contracts/webhook-flags';
import { INJECT_ANNOTATION, Policy, SIZE_ANNOTATION, RATIO_ANNOTATION, SIZE_LIMIT_ANNOTATION, planSharedMemory, resolvePolicy } from '../../src/core';
import { reviewAdmission } from '../../src/programs/webhook/review';

area('2 webhook admission');

const admin = Kube.admin();
const WEBHOOK_NS = 'e2e-admission-webhook';
const NS = 'e2e-admission';
const PLAIN = 'e2e-admission-plain';
// A name of its own: cluster-wide objects of other test files never collide with these.
const props = { namespace: WEBHOOK_NS, name: 'e2e-admission', excludedNamespaces: [PLAIN] };
let registered: RegisteredWebhook;
let configuration: any;
let policy: Policy;
let webhook: LocalWebhook;

beforeAll(async () => {
  for (const ns of [WEBHOOK_NS, NS, PLAIN]) await admin.namespace(ns);
  registered = await registerLocalWebhook(admin, props, NS);
  ({ configuration, process: webhook } = registered);
  policy = resolvePolicy(parseWebhookArgs(registered.container.args, {}).policy);
  count({ objects: 1 });
});

afterAll(async () => {
  await admin.kubectl(['delete', 'mutatingwebhookconfiguration', 'zz-e2e-second', '--ignore-not-found']);
  await registered?.unregister();
});

/** A pod spec that passes any Pod Security level, with these containers. */
function pod(name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): any {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, ...(annotations ? { annotations } : {}) }, spec };
}

const app = (name: string, memory?: string, extra: Record<string, unknown> = {}) => ({
  name, image: 'registry.example.com/app:1.0.0', ...(memory ? { resources: { limits: { memory } } } : {}), ...extra,
});

/** Creates `object` in NS for real and, as the reference, in PLAIN as a dry run; returns both and kubectl's stderr. */
async function createBoth(object: any): Promise<{ admitted: any; plain: any; stderr: string }> {
  const run = await admin.kubectl(['create', '-n', NS, '-o', 'json', '-f', '-'], { input: JSON.stringify(object) });
  const plain = await admin.json(['create', '-n', PLAIN, '--dry-run=server', '-f', '-'], { input: JSON.stringify(object) });
  return { admitted: JSON.parse(run.stdout), plain, stderr: run.stderr };
}

const direct: Array<[string, any]> = [
  ['one container with a limit', pod('single', { containers: [app('main', '2Gi')] })],
  ['an app container, a native sidecar and an init container', pod('sidecars', {
    initContainers: [app('setup', '3Gi'), app('proxy', '512Mi', { restartPolicy: 'Always' })],
    containers: [app('main', '4Gi')],
  })],
  ['pod-level resources and a container without its own limit', pod('pod-level', { resources: { limits: { memory: '6Gi' } }, containers: [app('main')] })],
  ['existing volumes and mounts', pod('volumes', {
    volumes: [{ name: 'data', emptyDir: {} }, { name: 'config', configMap: { name: 'app-config' } }],
    containers: [app('main', '1Gi', { volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'config', mountPath: '/etc/app' }] })],
  })],
  ['an explicit size annotation', pod('sized', { containers: [app('main', '8Gi')] }, { [SIZE_ANNOTATION]: '3Gi' })],
  ['a ratio annotation', pod('ratio', { containers: [app('main', '8Gi')] }, { [RATIO_ANNOTATION]: '0.25' })],
  ['two app containers, one without a limit', pod('two', { containers: [app('a', '1Gi'), app('b', '3Gi')] })],
  ['a size below the runtime default (left alone)', pod('small', { containers: [app('main', '64Mi')] })],
  ['no memory limit (left alone, with a warning)', pod('unlimited', { containers: [app('main')] })],
  ['opted out by annotation', pod('opted-out', { containers: [app('main', '2Gi')] }, { [INJECT_ANNOTATION]: 'false' })],
  ['hostIPC (left alone)', pod('host-ipc', { hostIPC: true, containers: [app('main', '2Gi')] })],
  ['its own /dev/shm already (left alone)', pod('own-shm', {
    volumes: [{ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
    containers: [app('main', '2Gi', { volumeMounts: [{ name: 'shm', mountPath: '/dev/shm' }] })],
  })],
];

test('the webhook process listens on 127.0.0.1 only, on the port it logged', () => {
  const sockets = listeningAddresses(admin.cluster.dir).filter(socket => socket.pid === webhook.child.pid);
  expect(sockets).toEqual([expect.objectContaining({ address: '127.0.0.1', port: webhook.port })]);
});

let warned = 0;

describe('pods created directly come back with exactly the core\'s /dev/shm', () => {
  test.each(direct)('%s', async (_name, object) => {
    const { admitted, plain, stderr } = await createBoth(object);
    expect(comparable(admitted)).toEqual(comparable(expectedPod(plain, policy)));
    const plan = planSharedMemory(plain, policy);
    if (plan.action === 'inject') {
      expect(admitted.metadata.annotations[SIZE_LIMIT_ANNOTATION]).toBe(plan.size);
      expect(devShmOf(admitted)).toBe(plan.size);
    } else {
      expect(comparable(admitted)).toEqual(comparable(plain));
    }
    // The server's warnings for this pod reach kubectl as they are, one Warning: line each.
    const review = reviewAdmission({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'e2e', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: NS, object: plain },
    }, policy);
    const warnings: string[] = review.review?.response?.warnings ?? [];
    expect(stderr.split('\n').filter(line => line.startsWith('Warning: ')).map(line => line.slice('Warning: '.length))).toEqual(warnings);
    if (warnings.length > 0) warned++;
    count({ pods: 1 });
  });

  test('the table covers injected and untouched pods (the comparison can tell them apart)', async () => {
    const actions = direct.map(([, object]) => object.metadata.name);
    const admitted = await Promise.all(actions.map(name => admin.get('pod', name, NS)));
    const injected = admitted.filter(p => p.metadata.annotations?.[SIZE_LIMIT_ANNOTATION]);
    expect(injected.length).toBeGreaterThan(0);
    expect(admitted.length - injected.length).toBeGreaterThan(0);
    expect(warned).toBeGreaterThan(0);
  });
});

const template = (labels: Record<string, string>, containers: any[]) => ({
  metadata: { labels },
  spec: { containers, terminationGracePeriodSeconds: 5 },
});

const workloads: Array<[string, any, string]> = [
  ['Deployment', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }, [app('web', '3Gi')]) },
  }, 'app=web'],
  ['StatefulSet', {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: {
      serviceName: 'db',
      replicas: 1,
      selector: { matchLabels: { app: 'db' } },
      template: template({ app: 'db' }, [app('db', '4Gi', { volumeMounts: [{ name: 'data', mountPath: '/var/lib/db' }] })]),
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  }, 'app=db'],
  ['Job', {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'train' },
    spec: { template: { metadata: { labels: { app: 'train' } }, spec: { restartPolicy: 'Never', containers: [app('train', '16Gi')] } } },
  }, 'app=train'],
];

describe('workloads the controller manager turns into pods come back with exactly the core\'s /dev/shm', () => {
  /** The first pod matching `selector` in a namespace, once the controllers made it. */
  const podOf = (namespace: string, selector: string) => eventually(`a pod ${selector} in ${namespace}`, async () => (await admin.list('pods', namespace, selector))[0]);

  test.each(workloads)('%s', async (_kind, object, selector) => {
    await admin.create([object], ['-n', NS]);
    await admin.create([object], ['-n', PLAIN]);
    count({ objects: 2 });
    const [admitted, plain] = await Promise.all([podOf(NS, selector), podOf(PLAIN, selector)]);
    expect(devShmOf(plain)).toBe('runtime default');
    expect(comparable(admitted)).toEqual(comparable(expectedPod(plain, policy)));
    expect(admitted.metadata.annotations[SIZE_LIMIT_ANNOTATION]).toBe(planSharedMemory(plain, policy).size);
    count({ pods: 1 });
  });

  test('CronJob: the Job made from its jobTemplate (kubectl create job --from) and its pod', async () => {
    const cronJob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report' },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: { spec: { template: { metadata: { labels: { app: 'report' } }, spec: { restartPolicy: 'OnFailure', containers: [app('report', '2Gi')] } } } },
      },
    };
    for (const ns of [NS, PLAIN]) {
      await admin.create([cronJob], ['-n', ns]);
      await admin.kubectl(['create', 'job', 'report-manual', '--from=cronjob/report', '-n', ns]);
    }
    count({ objects: 4 });
    const [admitted, plain] = await Promise.all([podOf(NS, 'app=report'), podOf(PLAIN, 'app=report')]);
    expect(admitted.metadata.ownerReferences[0]).toMatchObject({ kind: 'Job', name: 'report-manual' });
    expect(comparable(admitted)).toEqual(comparable(expectedPod(plain, policy)));
    expect(devShmOf(admitted)).toBe(planSharedMemory(plain, policy).size);
    count({ pods: 1 });
  });
});

describe('pods the webhook must not touch', () => {
  const limited = pod('untouched', { containers: [app('main', '2Gi')] });

  test.each([
    ['kube-system', 'kube-system'],
    ['the webhook\'s own namespace', WEBHOOK_NS],
    ['a namespace in excludedNamespaces', PLAIN],
  ])('%s', async (_name, namespace) => {
    const admitted = await admin.json(['create', '-n', namespace, '-f', '-'], { input: JSON.stringify(limited) });
    expect(devShmOf(admitted)).toBe('runtime default');
    expect(admitted.metadata.annotations?.[SIZE_LIMIT_ANNOTATION]).toBeUndefined();
    // The same pod where the webhook runs gets one: only the namespace selector kept it away.
    const elsewhere = await admin.json(['create', '-n', NS, '--dry-run=server', '-f', '-'], { input: JSON.stringify(limited) });
    expect(devShmOf(elsewhere)).toBe(planSharedMemory(admitted, policy).size);
    count({ pods: 1 });
  });

  test('the excluded namespaces are the construct\'s: kube-system, its own, and excludedNamespaces', () => {
    expect(configuration.webhooks[0].namespaceSelector.matchExpressions).toContainEqual({
      key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', WEBHOOK_NS, PLAIN],
    });
  });
});

describe('re-invocation: a second webhook later in the chain', () => {
  let second: https.Server;
  let calls = 0;

  beforeAll(async () => {
    // Adds a container with a larger limit to every pod, once: the API server must call ours again.
    second = https.createServer({ cert: registered.serving.certPem, key: registered.serving.keyPem }, (req, res) => {
      let body = '';
      req.on('data', chunk => (body += chunk));
      req.on('end', () => {
        calls++;
        const review = JSON.parse(body);
        const podObject = review.request.object;
        const has = podObject.spec.containers.some((c: any) => c.name === 'metrics');
        const patch = has ? [] : [{ op: 'add', path: '/spec/containers/-', value: app('metrics', '6Gi') }];
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') },
        }));
      });
    });
    await new Promise<void>(resolve => second.listen(0, '127.0.0.1', resolve));
    const port = (second.address() as AddressInfo).port;
    await admin.apply([{
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      // Configurations are called in name order: this one after ours.
      metadata: { name: 'zz-e2e-second' },
      webhooks: [{
        name: 'second.e2e.cdk8s-shm.io',
        admissionReviewVersions: ['v1'],
        clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle: Buffer.from(registered.ca.certPem).toString('base64') },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        namespaceSelector: { matchLabels: { 'e2e.cdk8s-shm.io/second': 'true' } },
        sideEffects: 'None',
        failurePolicy: 'Fail',
        reinvocationPolicy: 'Never',
      }],
    }]);
    count({ objects: 1 });
    for (const ns of [NS, PLAIN]) await admin.kubectl(['label', 'namespace', ns, 'e2e.cdk8s-shm.io/second=true', '--overwrite']);
    await eventually('the second webhook called', async () => {
      const probe = await admin.json(['create', '-n', PLAIN, '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod('probe', { containers: [app('main', '1Gi')] })) });
      return probe.spec.containers.length === 2 ? true : undefined;
    });
  });

  afterAll(async () => {
    await admin.kubectl(['delete', 'mutatingwebhookconfiguration', 'zz-e2e-second', '--ignore-not-found']);
    for (const ns of [NS, PLAIN]) await admin.kubectl(['label', 'namespace', ns, 'e2e.cdk8s-shm.io/second-']);
    await new Promise(resolve => second.close(resolve));
  });

  test('ours is called again and the pod ends as the core plans the final pod: one volume, every mount once, the new size', async () => {
    const before = webhook.logs.filter(e => e.msg === 'admission').length;
    const callsBefore = calls;
    const { admitted, plain } = await createBoth(pod('reinvoked', { containers: [app('main', '2Gi')] }));
    // The reference went through the second webhook too (it is not excluded there).
    expect(plain.spec.containers.map((c: any) => c.name)).toEqual(['main', 'metrics']);
    expect(comparable(admitted)).toEqual(comparable(expectedPod(plain, policy)));
    expect(devShmOf(admitted)).toBe(planSharedMemory(plain, policy).size);
    expect(admitted.spec.volumes.filter((v: any) => v.name === 'dshm')).toHaveLength(1);
    for (const c of admitted.spec.containers) expect(c.volumeMounts.filter((m: any) => m.mountPath === '/dev/shm')).toHaveLength(1);
    // Ours twice for the real pod (first call, then the re-invocation), the second webhook once (and once for the reference).
    expect(webhook.logs.filter(e => e.msg === 'admission').length - before).toBe(2);
    expect(calls - callsBefore).toBe(2);
    count({ pods: 1 });
  });
});

describe('failure policy, with the webhook stopped', () => {
  const limited = pod('while-down', { containers: [app('main', '2Gi')] });

  beforeAll(async () => {
    await webhook.stop();
  });

  test('Ignore (the default): pods are admitted unchanged', async () => {
    expect(configuration.webhooks[0].failurePolicy).toBe('Ignore');
    const admitted = await admin.json(['create', '-n', NS, '-f', '-'], { input: JSON.stringify(limited) });
    expect(devShmOf(admitted)).toBe('runtime default');
    expect(admitted.metadata.annotations?.[SIZE_LIMIT_ANNOTATION]).toBeUndefined();
    count({ pods: 1 });
  });

  test('Fail: pods are refused, naming the webhook', async () => {
    const failing = only(synthWebhook({ ...props, tls: WebhookTls.provided({ secretName: 'unused', caBundle: registered.ca.certPem }), failurePolicy: WebhookFailurePolicy.FAIL }),
      'MutatingWebhookConfiguration');
    expect(failing.webhooks[0].failurePolicy).toBe('Fail');
    await admin.apply([withUrl(failing, webhook.port)]);
    count({ objects: 1 });
    const refused = await eventually('pods refused', async () => {
      const run = await admin.kubectl(['create', '-n', NS, '--dry-run=server', '-f', '-'], { input: JSON.stringify(limited), allowFailure: true });
      return run.status !== 0 ? run : undefined;
    });
    expect(refused.stderr).toContain('failed calling webhook "pods.cdk8s-shm.io"');
    expect(refused.stderr).toMatch(/connection refused/);
  });
});
