/**
 * Area 6: every workload of the CLI's fixtures (test/cli/fixtures, the shop chart rendered by
 * helm, the kustomization built by kubectl), of the examples, and every pod of the shared
 * AdmissionReview fixtures is created through the API server with the webhook registered, and the
 * pods that come back are compared with `cdk8s-shm plan -o json` on the same objects: the size,
 * the containers that mount it, the annotation, and nothing injected where the plan skips.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { CLI_BUNDLE, planJson } from './support/cli';
import { REPO } from './support/control-plane';
import { Kube, eventually, runAsync } from './support/kube';
import { devShmOf } from './support/pods';
import { exampleSources } from './support/sources';
import { area, count } from './support/summary';
import { RegisteredWebhook, registerLocalWebhook } from './support/webhook';
import { SIZE_LIMIT_ANNOTATION, podTemplateOf } from '../../src/core';

area('6 plan parity');

const admin = Kube.admin();
const WEBHOOK_NS = 'e2e-parity-webhook';
const NODE = 'e2e-parity-node';
const CLI_FIXTURES = path.join(REPO, 'test', 'cli', 'fixtures');
const ADMISSION_FIXTURES = path.join(REPO, 'test', 'fixtures', 'admission');
/** CLI fixtures that are not Kubernetes manifests on purpose (the CLI's error paths). */
const NOT_MANIFESTS = new Set(['broken.yaml', 'not-kubernetes.yaml']);

/**
 * Admission fixtures whose pod the API server refuses on CREATE, and why: they are webhook inputs
 * no real API server sends (the README of test/fixtures/admission says so for 03).
 */
const REFUSED: Record<string, RegExp> = {
  // ephemeralContainers arrive only through the pods/ephemeralcontainers subresource (its README says so).
  '03-kubewarden-ephemeral-container.request.json': /spec\.ephemeralContainers: Forbidden: cannot be set on create/,
  // Upstream test data that no API server admits: with hostNetwork, a hostPort must equal its containerPort.
  '05-kubewarden-hostipc-hostpid-hostnetwork.request.json': /hostPort: Invalid value: 443: must match `containerPort` when `hostNetwork` is true/,
  // "containers" is an object, not a list: a review can never carry it (the API server decodes into typed structs first).
  '22-malformed-containers.json': /cannot unmarshal object into Go struct field PodSpec\.spec\.containers/,
  // Likewise unknown fields: the API server refuses them (strict), or drops them before any webhook sees the pod.
  '23-unknown-fields.json': /strict decoding error: unknown field "metadata\.futureMetadata"/,
};

let webhook: RegisteredWebhook;

/**
 * Parsed as kubectl parses manifests: YAML 1.1 (merge keys, `0644` is octal), a List as its items.
 * (YAML 1.2 reads `defaultMode: 0644` as 644, which the API server refuses as out of range.)
 */
const yamlObjects = (text: string) => parseAllDocuments(text, { version: '1.1' }).map(d => d.toJS()).filter(o => o)
  .flatMap((o: any) => (o.kind === 'List' ? o.items : [o]));

/** The objects a user would create: no namespace (the test gives one), no owner, no server-set fields. */
function asNew(object: any): any {
  const {
    namespace: _ns, uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, managedFields: _mf, ownerReferences: _or, selfLink: _sl, ...metadata
  } = object.metadata ?? {};
  const { status: _status, ...rest } = object;
  return { ...rest, metadata };
}

interface Source {
  readonly name: string;
  readonly objects: () => Promise<Array<{ origin: string; object: any }>>;
}

/** Objects that become pods: a Pod, or a workload with a pod template (a PodTemplate alone does not). */
const isWorkload = (o: any) => o?.kind !== 'PodTemplate' && podTemplateOf(o) !== undefined;

function sources(): Source[] {
  const files = fs.readdirSync(CLI_FIXTURES).filter(f => /\.ya?ml$/.test(f) && !NOT_MANIFESTS.has(f)).sort();
  return [
    ...files.map(file => ({
      name: `cli fixture ${file}`,
      objects: async () => yamlObjects(fs.readFileSync(path.join(CLI_FIXTURES, file), 'utf8')).map(object => ({ origin: file, object })),
    })),
    {
      name: 'cli fixture shop-chart (helm template)',
      objects: async () => yamlObjects((await admin.helm(['template', 'shop', path.join(CLI_FIXTURES, 'shop-chart')])).stdout).map(object => ({ origin: 'shop-chart', object })),
    },
    {
      name: 'cli fixture kustomize (kubectl kustomize)',
      objects: async () => yamlObjects((await admin.kubectl(['kustomize', path.join(CLI_FIXTURES, 'kustomize')])).stdout).map(object => ({ origin: 'kustomize', object })),
    },
    ...exampleSources().map(source => ({
      name: source.name,
      objects: async () => (await source.objects()).map(object => ({ origin: source.name, object })),
    })),
    {
      name: 'admission fixtures',
      objects: async () => fs.readdirSync(ADMISSION_FIXTURES).filter(f => f.endsWith('.json')).sort().map(file => {
        const body = JSON.parse(fs.readFileSync(path.join(ADMISSION_FIXTURES, file), 'utf8'));
        const request = body.request ?? body;
        return { origin: file, object: { apiVersion: 'v1', kind: 'Pod', ...request.object } };
      }).filter(({ object }) => object.metadata),
    },
  ];
}

beforeAll(async () => {
  await admin.namespace(WEBHOOK_NS);
  await admin.namespace('e2e-parity-probe');
  webhook = await registerLocalWebhook(admin, { namespace: WEBHOOK_NS, name: 'e2e-parity' }, 'e2e-parity-probe');
  // A Node for the DaemonSets: every label their node selectors ask for, no taint.
  await admin.apply([{
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: NODE, labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': NODE, 'cdk8s-shm.io/routing-agent': 'true' } },
  }]);
  // The API server taints a new Node not-ready; a kubelet's first Ready status would lift that.
  await admin.kubectl(['taint', 'node', NODE, 'node.kubernetes.io/not-ready:NoSchedule-']);
});

afterAll(async () => {
  await webhook?.unregister();
  await admin.kubectl(['delete', 'node', NODE, '--ignore-not-found']);
});

/** The top owner of a pod (a Deployment through its ReplicaSet, a CronJob through its Job). */
async function topOwner(namespace: string, pod: any): Promise<string> {
  let owner = pod.metadata.ownerReferences?.[0];
  if (!owner) return `Pod/${pod.metadata.name}`;
  if (owner.kind === 'ReplicaSet' || owner.kind === 'Job') {
    const parent = await admin.get(owner.kind === 'ReplicaSet' ? 'replicaset' : 'job', owner.name, namespace);
    owner = parent?.metadata.ownerReferences?.[0] ?? owner;
  }
  return `${owner.kind}/${owner.name}`;
}

let sourceIndex = 0;

test.each(sources())('$name: the pods from the API server have the /dev/shm cdk8s-shm plan gives', async source => {
  const namespace = `e2e-parity-${++sourceIndex}`;
  await admin.namespace(namespace);
  const all = await source.objects();
  const workloads = all.filter(({ object }) => isWorkload(object)).map(({ origin, object }) => ({ origin, object: asNew(object) }));
  expect(workloads.length).toBeGreaterThan(0);
  const plans = await planJson(workloads.map(w => w.object));
  expect(plans.map(p => `${p.kind}/${p.name}`)).toEqual(workloads.map(w => `${w.object.kind}/${w.object.metadata.name ?? `${w.object.metadata.generateName}*`}`));

  const expectedPods = new Map<string, { plan: (typeof plans)[number]; sent: any }>();
  for (const [i, { origin, object }] of workloads.entries()) {
    const run = await admin.kubectl(['create', '-n', namespace, '-o', 'json', '-f', '-'], { input: JSON.stringify(object), allowFailure: true });
    if (run.status !== 0) {
      const why = REFUSED[origin];
      expect({ origin, refused: run.stderr.trim() }).toEqual({ origin, refused: why ? expect.stringMatching(why) : 'not refused' });
      continue;
    }
    expect({ origin, refusedAsExpected: REFUSED[origin] === undefined }).toEqual({ origin, refusedAsExpected: true });
    const created = JSON.parse(run.stdout);
    count({ objects: 1 });
    if (object.kind === 'CronJob') {
      await admin.kubectl(['create', 'job', `${created.metadata.name}-manual`, `--from=cronjob/${created.metadata.name}`, '-n', namespace]);
    }
    expectedPods.set(`${object.kind}/${created.metadata.name}`, { plan: plans[i], sent: podTemplateOf(object)!.template });
  }

  // Every workload that was created has its pods; each pod matches its workload's plan.
  const seen = await eventually(`a pod for each of ${[...expectedPods.keys()].join(', ')}`, async () => {
    const pods = await admin.list('pods', namespace);
    const byOwner = new Map<string, any>();
    for (const pod of pods) byOwner.set(await topOwner(namespace, pod), pod);
    return [...expectedPods.keys()].every(key => byOwner.has(key)) ? byOwner : undefined;
  }, 90_000);
  for (const [key, { plan, sent }] of expectedPods) {
    const pod = seen.get(key);
    const got = {
      workload: key,
      action: plan.action,
      devShm: devShmOf(pod),
      annotation: pod.metadata.annotations?.[SIZE_LIMIT_ANNOTATION],
      mounted: [...(pod.spec.initContainers ?? []), ...pod.spec.containers]
        .filter((c: any) => (c.volumeMounts ?? []).some((m: any) => m.mountPath === '/dev/shm')).map((c: any) => c.name),
    };
    const changes = plan.action === 'inject' || plan.action === 'update' || plan.action === 'unchanged';
    expect(got).toEqual({
      workload: key,
      action: plan.action,
      devShm: changes ? plan.shmSize : devShmOf(sent),
      annotation: changes ? plan.shmSize : sent.metadata?.annotations?.[SIZE_LIMIT_ANNOTATION],
      mounted: changes ? [...plan.targets].sort(byContainerOrder(pod)) : got.mounted,
    });
    count({ pods: 1 });
  }
});

describe('cdk8s-shm inject output, piped to kubectl as users do, passes a strict server-side dry run', () => {
  const files = () => fs.readdirSync(CLI_FIXTURES).filter(f => /\.ya?ml$/.test(f) && !NOT_MANIFESTS.has(f)).sort();
  test.each(files())('%s', async file => {
    const run = await runAsync(process.execPath, [CLI_BUNDLE, 'inject', '-f', path.join(CLI_FIXTURES, file)]);
    expect(run.status).toBe(0);
    const objects = yamlObjects(run.stdout);
    for (const namespace of new Set(objects.map(o => o.metadata?.namespace).filter(Boolean))) await admin.namespace(namespace);
    // Objects without a namespace go to `default`, as they would for the user.
    const applied = await admin.kubectl(['apply', '--server-side', '--dry-run=server', '--validate=strict', '-f', '-'], { input: run.stdout });
    expect(applied.stdout.trim().split('\n')).toHaveLength(objects.length);
    count({ objects: objects.length });
  });
});

/** Sorts container names as the pod lists them (init containers first). */
function byContainerOrder(pod: any): (a: string, b: string) => number {
  const order = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c: any) => c.name);
  return (a, b) => order.indexOf(a) - order.indexOf(b);
}
