/**
 * The corpus of the e2e suites: every workload of the CLI's fixtures (test/programs/cli/fixtures, the shop
 * chart rendered by helm, the kustomization built by kubectl), of the examples, and the pod of
 * every shared AdmissionReview fixture, as a user would create them; and how a test finds the pods
 * the controllers made of them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { planJson } from './cli';
import { REPO } from './control-plane';
import { Kube, eventually } from './kube';
import { devShmOf } from './pods';
import { exampleSources } from './sources';
import { count } from './summary';
import { ANNOTATION_PREFIX, JsonPatchOperation, SHM_MOUNT_PATH, SIZE_LIMIT_ANNOTATION, applyOperations, bytesCeil, podTemplateOf } from '../../../src/core';
import type { PlanJson } from '../../../src/programs/cli/plan-table';

export const CLI_FIXTURES = path.join(REPO, 'test', 'programs', 'cli', 'fixtures');
const ADMISSION_FIXTURES = path.join(REPO, 'test', 'fixtures', 'admission');
/** CLI fixtures that are not Kubernetes manifests on purpose (the CLI's error paths). */
export const NOT_MANIFESTS = new Set(['broken.yaml', 'not-kubernetes.yaml']);

/**
 * Admission fixtures whose pod the API server refuses on CREATE, and why: they are webhook inputs
 * no real API server sends (the README of test/fixtures/admission says so for 03).
 */
export const REFUSED: Record<string, RegExp> = {
  // ephemeralContainers arrive only through the pods/ephemeralcontainers subresource (its README says so).
  '03-kubewarden-ephemeral-container.request.json': /spec\.ephemeralContainers: Forbidden: cannot be set on create/,
  // Upstream test data that no API server admits: with hostNetwork, a hostPort must equal its containerPort.
  '05-kubewarden-hostipc-hostpid-hostnetwork.request.json': /hostPort: Invalid value: 443: must match `containerPort` when `hostNetwork` is true/,
  // "containers" is an object, not a list: a review can never carry it (the API server decodes into typed structs first).
  '22-malformed-containers.json': /cannot unmarshal object into Go struct field PodSpec\.spec\.containers/,
  // Likewise unknown fields: the API server refuses them (strict), or drops them before any webhook sees the pod.
  '23-unknown-fields.json': /strict decoding error: unknown field "metadata\.futureMetadata"/,
};

/**
 * Parsed as kubectl parses manifests: YAML 1.1 (merge keys, `0644` is octal), a List as its items.
 * (YAML 1.2 reads `defaultMode: 0644` as 644, which the API server refuses as out of range.)
 */
export const yamlObjects = (text: string) => parseAllDocuments(text, { version: '1.1' }).map(d => d.toJS()).filter(o => o)
  .flatMap((o: any) => (o.kind === 'List' ? o.items : [o]));

/** The objects a user would create: no namespace (the test gives one), no owner, no server-set fields. */
export function asNew(object: any): any {
  const {
    namespace: _ns, uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, managedFields: _mf, ownerReferences: _or, selfLink: _sl, ...metadata
  } = object.metadata ?? {};
  const { status: _status, ...rest } = object;
  return { ...rest, metadata };
}

export interface CorpusSource {
  readonly name: string;
  /** Each object with where it came from (a file, or the source's name). */
  readonly objects: () => Promise<Array<{ origin: string; object: any }>>;
}

/** Objects that become pods: a Pod, or a workload with a pod template (a PodTemplate alone does not). */
export const isWorkload = (o: any) => o?.kind !== 'PodTemplate' && podTemplateOf(o) !== undefined;

/** The corpus, source by source. */
export function corpusSources(admin: Kube): CorpusSource[] {
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

/** Labels the Nodes that stand in for the nodes pods of the corpus are bound to. */
const STAND_IN_NODE_LABEL = 'cdk8s-shm.io/e2e-stand-in';

/**
 * Pods bound to a node (`spec.nodeName`: the mirror pod and some shared fixtures) need that Node,
 * as in a cluster: without it, the pod garbage collector deletes them some 40 s after they are
 * created, and a slow run would miss them. No kubelet runs behind these Nodes.
 */
async function standInNodes(admin: Kube, nodeNames: readonly unknown[]): Promise<void> {
  const names = [...new Set(nodeNames.filter((n): n is string => typeof n === 'string' && n !== ''))];
  if (names.length === 0) return;
  await admin.apply(names.map(name => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': name, [STAND_IN_NODE_LABEL]: 'true' } },
  })));
}

/** Deletes the Nodes `expectPodsAsPlanned` made (call once a test file is done with them). */
export async function deleteStandInNodes(admin: Kube): Promise<void> {
  await admin.kubectl(['delete', 'node', '-l', `${STAND_IN_NODE_LABEL}=true`, '--ignore-not-found']);
}

/** The top owner of a pod (a Deployment through its ReplicaSet, a CronJob through its Job). */
export async function topOwner(admin: Kube, namespace: string, pod: any): Promise<string> {
  let owner = pod.metadata.ownerReferences?.[0];
  if (!owner) return `Pod/${pod.metadata.name}`;
  if (owner.kind === 'ReplicaSet' || owner.kind === 'Job') {
    const parent = await admin.get(owner.kind === 'ReplicaSet' ? 'replicaset' : 'job', owner.name, namespace);
    owner = parent?.metadata.ownerReferences?.[0] ?? owner;
  }
  return `${owner.kind}/${owner.name}`;
}

/** Sorts container names as the pod lists them (init containers first). */
export function byContainerOrder(pod: any): (a: string, b: string) => number {
  const order = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c: any) => c.name);
  return (a, b) => order.indexOf(a) - order.indexOf(b);
}

/** The containers of a pod (init containers first) that mount something at /dev/shm. */
export function shmMountedBy(pod: any): string[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers]
    .filter((c: any) => (c.volumeMounts ?? []).some((m: any) => m.mountPath === '/dev/shm')).map((c: any) => c.name);
}

/**
 * Creates every workload of a source in `namespace` (as a user would: kubectl create; a CronJob
 * gets a Job made of it), waits for a pod of each, and checks each pod against
 * `cdk8s-shm plan -o json [flags]` on the same objects: the size, the annotation and the containers
 * that mount it, and nothing injected where the plan skips. With `exact`, also the `/dev/shm`
 * volume, every mount at `/dev/shm` and every cdk8s-shm.io/ annotation, field for field, against
 * the template with the plan's patch applied.
 * @returns the plans, in the order of the workloads
 */
export async function expectPodsAsPlanned(
  admin: Kube, namespace: string, source: CorpusSource, flags: readonly string[] = [], exact = false,
): Promise<PlanJson[]> {
  const all = await source.objects();
  const workloads = all.filter(({ object }) => isWorkload(object)).map(({ origin, object }) => ({ origin, object: asNew(object) }));
  expect(workloads.length).toBeGreaterThan(0);
  const plans = await planJson(workloads.map(w => w.object), flags);
  expect(plans.map(p => `${p.kind}/${p.name}`)).toEqual(workloads.map(w => `${w.object.kind}/${w.object.metadata.name ?? `${w.object.metadata.generateName}*`}`));

  await standInNodes(admin, workloads.map(w => (podTemplateOf(w.object)!.template as any).spec?.nodeName));

  const expectedPods = new Map<string, { plan: PlanJson; sent: any; object: any }>();
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
    expectedPods.set(`${object.kind}/${created.metadata.name}`, { plan: plans[i], sent: podTemplateOf(object)!.template, object });
  }

  // Every workload that was created has its pods; each pod matches its workload's plan.
  const seen = await eventually(`a pod for each of ${[...expectedPods.keys()].join(', ')}`, async () => {
    const pods = await admin.list('pods', namespace);
    const byOwner = new Map<string, any>();
    for (const pod of pods) byOwner.set(await topOwner(admin, namespace, pod), pod);
    return [...expectedPods.keys()].every(key => byOwner.has(key)) ? byOwner : undefined;
  }, 90_000);
  for (const [key, { plan, sent, object }] of expectedPods) {
    const pod = seen.get(key);
    const annotation = pod.metadata.annotations?.[SIZE_LIMIT_ANNOTATION];
    const got = { workload: key, action: plan.action, devShm: devShmOf(pod), annotation, mounted: shmMountedBy(pod) };
    const changes = plan.action === 'inject' || plan.action === 'update' || plan.action === 'unchanged';
    expect(got).toEqual({
      workload: key,
      action: plan.action,
      devShm: changes ? plan.shmSize : devShmOf(sent),
      annotation: changes ? plan.shmSize : sent.metadata?.annotations?.[SIZE_LIMIT_ANNOTATION],
      mounted: changes ? [...plan.targets].sort(byContainerOrder(pod)) : got.mounted,
    });
    if (exact) {
      const expected = podTemplateOf(applyOperations(structuredClone(object), plan.patch as JsonPatchOperation[]))!.template as any;
      expect({ workload: key, ...shmParts(pod) }).toEqual({ workload: key, ...shmParts(expected) });
    }
    count({ pods: 1 });
  }
  return plans;
}

/**
 * What a way in writes into a pod: its cdk8s-shm.io/ annotations, the volumes mounted at
 * `/dev/shm` (their `sizeLimit` in bytes: the API server writes a quantity canonically) and each
 * container's mounts there.
 */
export function shmParts(pod: any): { annotations: Record<string, string>; volumes: any[]; mounts: Record<string, any[]> } {
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  const mounts = Object.fromEntries(containers.map((c: any) => [c.name, (c.volumeMounts ?? []).filter((m: any) => m.mountPath === SHM_MOUNT_PATH)]));
  const names = new Set(Object.values(mounts).flat().map((m: any) => m.name));
  const volumes = (pod.spec.volumes ?? []).filter((v: any) => names.has(v.name)).map((v: any) => v.emptyDir?.sizeLimit === undefined ? v
    : { ...v, emptyDir: { ...v.emptyDir, sizeLimit: String(bytesCeil(v.emptyDir.sizeLimit)) } });
  const ours = Object.entries(pod.metadata?.annotations ?? {}).filter(([k]) => k.startsWith(ANNOTATION_PREFIX));
  const annotations = Object.fromEntries(ours) as Record<string, string>;
  return { annotations, volumes, mounts };
}
