/**
 * Area 8, the real node: every example of examples/, and the README's Quick start app, run, as
 * `npm run examples` (and the Quick start's own `app.synth()`) synthesize them,
 * its pods created by the controllers (a Deployment's ReplicaSet, a StatefulSet, a Job, the Job a
 * CronJob makes, the agent's DaemonSets), and every container's `/dev/shm` is the size the
 * examples' table prints for its workload (`shmRows`, the function that prints it): a memory
 * emptyDir's `sizeLimit` (below the node's allocatable memory, which would cap it), the agent's
 * domain for a csi volume, the runtime's 64 MiB where nothing is mounted.
 *
 * The test copies change what `forNode` lists: images, small requests, no GPUs, the node's taint
 * tolerated and its directories mapped; every container runs `df` instead of its program. The node
 * gets the agent example's label, as its rollout says, for the time of the test.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { deleteSuiteObjects } from './support/cleanup';
import { REPO } from './support/control-plane';
import { Kube, eventually } from './support/kube';
import { dfKib, logLines, podsOwnedBy, transcript } from './support/node/containers';
import { forNode, podSpecsOf } from './support/node/node-copies';
import { area, count } from './support/summary';
import { examples, shmRows } from '../../examples/registry';
import { parseCsiPluginArgs } from '../../src/contracts/csi-flags';
import { RUNTIME_DEFAULT_SHM_BYTES, SHM_MOUNT_PATH, bytesCeil, bytesFloor, podTemplateOf } from '../../src/core';

area('8 real node');

const admin = Kube.admin();
const node = admin.cluster.node!;
const KIB = 1024n;
const DF = 'echo "df $(df -k /dev/shm | tail -1)"';
/** Where a workload without a namespace of its own goes. */
const DEFAULT_NS = 'e2e-node-examples';

interface Workload {
  readonly example: string;
  readonly object: any;
  /** The table's /dev/shm cell. */
  readonly devShm: string;
}

/**
 * The README's Quick start as an app runs it: its first TypeScript block (marked ```TypeScript: see
 * test/docs/code-blocks.test.ts), with `npx cdk8s synth`'s part done by its own `app.synth()`,
 * through ts-node, where `cdk8s-shm` means the sources
 * (scripts/self-import.js) and `cdk8s-plus-33` is the repository's cdk8s-plus-28 (the same
 * Deployment and Job; no registry is reachable from the e2e's network).
 */
function quickStart(): any[] {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const block = /```TypeScript\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Quick start')))![1];
  fs.mkdirSync(path.join(REPO, '.tmp'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(REPO, '.tmp', 'quick-start-'));
  try {
    fs.writeFileSync(path.join(dir, 'main.ts'), block.replace(/'cdk8s-plus-33'/g, "'cdk8s-plus-28'"));
    const run = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', path.join(REPO, 'scripts', 'self-import.js'), 'main.ts'],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, TS_NODE_PROJECT: path.join(REPO, 'examples', 'tsconfig.json') } });
    if (run.status !== 0) throw new Error(`the Quick start did not run: ${run.stderr}`);
    const files = fs.readdirSync(path.join(dir, 'dist')).filter(f => f.endsWith('.k8s.yaml'));
    return files.flatMap(f => parseAllDocuments(fs.readFileSync(path.join(dir, 'dist', f), 'utf8')).map(d => d.toJS()).filter(Boolean));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const synthesized = [
  ...examples().map(example => ({ name: example.name, objects: example.build(new App()).toJson() })),
  { name: 'README quick start', objects: quickStart() },
];
const applied: any[] = [];
const nodeLabels: string[] = [];

/** What `df -k /dev/shm` must print in a container, in KiB: from the table's cell. */
function expectedKib(devShm: string, mounts: boolean, domains: ReadonlyMap<string, bigint>, allocatable: bigint): bigint {
  if (!mounts || devShm.endsWith('(runtime default)')) return RUNTIME_DEFAULT_SHM_BYTES / KIB;
  const csi = /^csi (\S+)$/.exec(devShm);
  if (csi) return domains.get(csi[1])! / KIB;
  const size = bytesFloor(devShm);
  return (size < allocatable ? size : allocatable) / KIB;
}

/** A workload's pods run on the node when every container mounts what it needs; Jobs end. */
function script(kind: string): (container: any, spec: any) => string | undefined {
  return (container, spec) => {
    // The agent's plugin and mounter are the product: they run as shipped.
    if (container.name === 'csi-plugin' || container.name === 'mount-tmpfs' || container.name === 'prepare-domain') return undefined;
    const plainInit = (spec.initContainers ?? []).includes(container) && container.restartPolicy !== 'Always';
    return plainInit || kind === 'Job' || kind === 'CronJob' ? `${DF}; echo done` : `${DF}; echo done; exec sleep 3600`;
  };
}

beforeAll(async () => {
  // The agent example's rollout: label the nodes that run it.
  for (const { objects } of synthesized) {
    for (const o of objects) {
      const selector = o.kind === 'DaemonSet' ? o.spec.template.spec.nodeSelector ?? {} : {};
      for (const [key, value] of Object.entries(selector)) if (key !== 'kubernetes.io/os') nodeLabels.push(`${key}=${value}`);
    }
  }
  if (nodeLabels.length > 0) await admin.kubectl(['label', 'node', node.name, ...nodeLabels, '--overwrite']);
  await admin.namespace(DEFAULT_NS);
  for (const { objects } of synthesized) {
    const copies = objects.map(o => forNode(o, { otherwise: script(o.kind), paths: { '/var/lib/kubelet': node.kubeletDir, '/run': node.sharedDir } }));
    for (const copy of copies) if (podTemplateOf(copy) && !copy.metadata.namespace) copy.metadata.namespace = DEFAULT_NS;
    applied.push(...copies);
  }
  // The examples deploy into namespaces a cluster has (their own Namespace objects aside).
  const defined = new Set(applied.filter(o => o.kind === 'Namespace').map(o => o.metadata.name));
  for (const ns of new Set(applied.map(o => o.metadata.namespace).filter((n: string | undefined) => n && !defined.has(n)))) await admin.namespace(ns);
  await admin.apply(applied);
  count({ objects: applied.length });
  for (const cronJob of applied.filter(o => o.kind === 'CronJob')) {
    await admin.kubectl(['create', 'job', `${cronJob.metadata.name}-e2e`, `--from=cronjob/${cronJob.metadata.name}`, '-n', cronJob.metadata.namespace]);
  }
}, 300_000);

afterAll(async () => {
  await deleteSuiteObjects(admin, applied, [DEFAULT_NS]);
  if (nodeLabels.length > 0) await admin.kubectl(['label', 'node', node.name, ...nodeLabels.map(l => `${l.split('=')[0]}-`)]);
});

test('every pod of every example and of the Quick start reaches Running or Succeeded, each container with the /dev/shm the examples\' table prints', async () => {
  const allocatable = bytesCeil((await admin.get('node', node.name)).status.allocatable.memory);
  // The agents' domains: what their plugins mount, from the plugins' own flags.
  const domains = new Map<string, bigint>();
  for (const o of applied) {
    const plugin = o.kind === 'DaemonSet' ? o.spec.template.spec.containers.find((c: any) => c.name === 'csi-plugin') : undefined;
    if (plugin) {
      const options = parseCsiPluginArgs(plugin.args.map((a: string) => a.replace('$(NODE_NAME)', node.name)));
      domains.set(options.driverName, options.domainSizeBytes!);
    }
  }
  const workloads: Workload[] = synthesized.flatMap(({ name, objects }) => {
    const rows = shmRows(objects);
    return objects.filter(o => podTemplateOf(o)).map((object, i) => ({ example: name, object, devShm: rows[i].devShm }));
  });
  expect(workloads.length).toBeGreaterThanOrEqual(12);
  expect(workloads.filter(w => w.example === 'README quick start').map(w => w.devShm)).toEqual(['8Gi', '8Gi']);

  let containers = 0;
  for (const { example, object, devShm } of workloads) {
    const namespace = object.metadata.namespace ?? DEFAULT_NS;
    const done = (p: any) => p.status?.phase === 'Succeeded'
      || (p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s: any) => s.state?.running));
    const pods = await eventually(`${example}: the pods of ${object.kind}/${object.metadata.name} Running or Succeeded`, async () => {
      const found = await podsOwnedBy(admin, namespace, object.kind, object.metadata.name);
      return found.length > 0 && found.every(done) ? found : undefined;
    }, 300_000, 1000);
    const spec = podSpecsOf(object)[0];
    for (const pod of pods) {
      count({ ran: 1 });
      for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
        if (script(object.kind)(container, spec) === undefined) continue;
        const mounts = (container.volumeMounts ?? []).some((m: any) => m.mountPath === SHM_MOUNT_PATH);
        const lines = await logLines(admin, namespace, pod.metadata.name, container.name);
        expect({ workload: `${object.kind}/${object.metadata.name}`, container: container.name, kib: BigInt(dfKib(lines)) })
          .toEqual({ workload: `${object.kind}/${object.metadata.name}`, container: container.name, kib: expectedKib(devShm, mounts, domains, allocatable) });
        containers++;
        if (pod === pods[0]) transcript(`[example ${example}] ${object.kind}/${object.metadata.name} ${container.name} (table: ${devShm}): ${lines[0]}`);
      }
    }
  }
  expect(containers).toBeGreaterThanOrEqual(workloads.length);
}, 900_000);
