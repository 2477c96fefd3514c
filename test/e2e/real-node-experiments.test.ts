/**
 * Area 8, the real node: the source articles' experiments (seeds/: `df -h /dev/shm`, `dd` until
 * "No space left on device", OOM kills) on pods that run, their containers started by the kubelet
 * with containerd and runc, their `/dev/shm` read and filled from inside.
 *
 * 1. A pod without the library gets the runtime's 64 MiB, and `dd` stops there with ENOSPC. The
 *    same workload through each way in (the construct, `applyToChart`, `inject`, the webhook, the
 *    admission policy) gets the size `cdk8s-shm plan -o json` gives, in every container that
 *    mounts it (a plain init container and a sidecar too), and `dd` stops with ENOSPC at exactly
 *    that size while the container keeps running.
 * 2. Why half: a `/dev/shm` as large as its container's limit lets shared memory OOM-kill the
 *    container, and again after the restart while the pages stay (kubernetes#128339); the same
 *    workload sized by the rule gets ENOSPC and keeps running.
 * 3. The kubelet's cap, and the unbounded case: a `sizeLimit` above the pod limit is mounted at the
 *    pod limit; a memory emptyDir without `sizeLimit` is as large as the node's allocatable memory
 *    without a limit (kubernetes#125852), as large as the limit with one, and `sizeUnboundedShm`
 *    bounds it by the rule.
 *
 * Every expected figure comes from `cdk8s-shm plan -o json` on the same workload, or from the
 * Node's own status; none is written here.
 */
import { ApiObject, App, Chart } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { CLI_BUNDLE, planJson } from './support/cli';
import { CommandError, Kube, asStream, eventually, runAsync } from './support/kube';
import {
  ContainerEnd, containerStatus, dfKib, field, fillScript, logLines, transcript, waitForLine, waitForPod, watchContainerEnds,
} from './support/node/containers';
import { forNode } from './support/node/node-copies';
import { area, count } from './support/summary';
import { RegisteredWebhook, registerLocalWebhook, waitForWebhook } from './support/webhook';
import { NamespaceSelection, SharedMemory } from '../../src';
import { NAMESPACE_OPT_IN_VALUE } from '../../src/constructs/admission-policy/settings';
import { INJECT_ANNOTATION, RUNTIME_DEFAULT_SHM_BYTES, bytesCeil, settingAnnotation } from '../../src/core';
import { synthAdmissionPolicy } from '../support/admission-policy';

area('8 real node');

const admin = Kube.admin();
const MIB = 1024n * 1024n;
const KIB = 1024n;
const SELECTED = { [INJECT_ANNOTATION]: NAMESPACE_OPT_IN_VALUE };

const WAYS = ['construct', 'applyToChart', 'inject', 'webhook', 'admission policy'] as const;
type Way = typeof WAYS[number] | 'no library';
const NAMESPACES: Record<Way, string> = {
  'no library': 'e2e-node-plain',
  'construct': 'e2e-node-construct',
  'applyToChart': 'e2e-node-chart',
  'inject': 'e2e-node-inject',
  'webhook': 'e2e-node-webhook',
  'admission policy': 'e2e-node-policy',
};
const policyObjects = synthAdmissionPolicy({ name: 'e2e-node-policy', namespaceSelection: NamespaceSelection.OPT_IN, excludedNamespaces: [NAMESPACES.webhook] });
let webhook: RegisteredWebhook | undefined;

/** A Deployment as a user writes it, without the library. */
function deployment(name: string, spec: any, annotations: Record<string, string> = {}): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations }, spec: { terminationGracePeriodSeconds: 1, ...spec } },
    },
  };
}

const container = (name: string, memory?: string, extra: any = {}) =>
  ({ name, image: 'busybox:1.36.1', ...(memory ? { resources: { limits: { memory } } } : {}), ...extra });

/** The experiment's workload: a plain init container, a sidecar and the app, each with its own limit. */
const experiment = deployment('experiment', {
  initContainers: [container('prepare', '256Mi'), container('helper', '128Mi', { restartPolicy: 'Always' })],
  containers: [container('app', '512Mi')],
});

/** The workload as a way in hands it to the API server (the webhook and the policy: as the user wrote it). */
async function throughWayIn(way: Way, workload: any): Promise<any[]> {
  const synth = (apply: (chart: Chart, object: ApiObject) => void) => {
    const chart = new Chart(new App(), 'node');
    apply(chart, new ApiObject(chart, workload.metadata.name, workload));
    return chart.toJson();
  };
  switch (way) {
    case 'construct': return synth((_chart, object) => SharedMemory.addTo(object));
    case 'applyToChart': return synth(chart => SharedMemory.applyToChart(chart));
    case 'inject': {
      const run = await runAsync(process.execPath, [CLI_BUNDLE, 'inject', '--quiet'], { input: asStream([workload]) });
      if (run.status !== 0) throw new CommandError('cdk8s-shm inject', run);
      return parseAllDocuments(run.stdout).map(d => d.toJS()).filter(Boolean);
    }
    default: return [structuredClone(workload)];
  }
}

/** Applies the node copy of `objects` in `namespace`. */
async function runOnNode(namespace: string, objects: any[], commands: Record<string, string>): Promise<void> {
  const copies = forNode(objects, { commands }).map(o => ({ ...o, metadata: { ...o.metadata, namespace } }));
  await admin.create(copies);
  count({ objects: copies.length });
}

/** What a container printed: its `df`, and what `dd` wrote before it stopped. */
interface Fill {
  readonly dfKib: bigint;
  readonly written: bigint;
  readonly ddError: string;
  readonly lines: readonly string[];
}

function fillOf(lines: readonly string[]): Fill {
  return { dfKib: BigInt(dfKib(lines)), written: BigInt(field(lines, 'written')), ddError: field(lines, 'dd-error'), lines };
}

beforeAll(async () => {
  for (const way of ['no library', 'construct', 'applyToChart', 'inject'] as const) await admin.namespace(NAMESPACES[way]);
  await admin.namespace(NAMESPACES.webhook, SELECTED);
  await admin.namespace(NAMESPACES['admission policy'], SELECTED);
  webhook = await registerLocalWebhook(admin, {
    namespace: 'e2e-node-webhook-system',
    name: 'e2e-node-webhook',
    namespaceSelection: NamespaceSelection.OPT_IN,
    excludedNamespaces: [NAMESPACES['admission policy']],
  }, NAMESPACES.webhook);
  await admin.apply(policyObjects);
  count({ objects: policyObjects.length });
  await waitForWebhook(admin, NAMESPACES['admission policy']);
});

afterAll(async () => {
  await webhook?.unregister();
  await admin.kubectl(['delete', '-f', '-', '--ignore-not-found', '--wait=false'], { input: asStream(policyObjects) });
  await admin.kubectl(['delete', 'namespace', ...Object.values(NAMESPACES), '--ignore-not-found', '--wait=false']);
});

describe('1. the articles\' experiment: df and dd inside the container', () => {
  const results = new Map<Way, { prepare: string[]; helper: string[]; app: Fill; pod: any }>();
  let plannedBytes = 0n;

  beforeAll(async () => {
    const [plan] = await planJson([experiment]);
    expect(plan.action).toBe('inject');
    plannedBytes = BigInt(plan.shmSizeBytes!);
    // dd asks for more than /dev/shm holds, so that it must stop on ENOSPC.
    const ask = Number((plannedBytes > RUNTIME_DEFAULT_SHM_BYTES ? plannedBytes : RUNTIME_DEFAULT_SHM_BYTES) / MIB) + 64;
    const commands = {
      prepare: 'echo "df $(df -k /dev/shm | tail -1)"; echo done',
      helper: 'echo "df $(df -k /dev/shm | tail -1)"; echo done; exec sleep 3600',
      app: fillScript(ask),
    };
    for (const way of ['no library', ...WAYS] as const) {
      await runOnNode(NAMESPACES[way], way === 'no library' ? [experiment] : await throughWayIn(way, experiment), commands);
    }
    for (const way of ['no library', ...WAYS] as const) {
      const ns = NAMESPACES[way];
      const pod = await waitForPod(admin, ns, 'experiment-', 'app running', p => containerStatus(p, 'app')?.state?.running !== undefined);
      const app = fillOf(await waitForLine(admin, ns, pod.metadata.name, 'app', 'done'));
      const prepare = await logLines(admin, ns, pod.metadata.name, 'prepare');
      const helper = await waitForLine(admin, ns, pod.metadata.name, 'helper', 'done');
      results.set(way, { prepare, helper, app, pod: (await admin.get('pod', pod.metadata.name, ns))! });
      count({ ran: 1 });
      transcript(`[${way}] app: ${field(app.lines, 'df')}`);
      transcript(`[${way}] app: ${field(app.lines, 'dd-error')}`);
      transcript(`[${way}] app: ${field(app.lines, 'dd-last')}`);
    }
  }, 600_000);

  test('without the library: the runtime\'s 64 MiB, and dd stops there with ENOSPC', () => {
    const { app, prepare, helper } = results.get('no library')!;
    expect(app.dfKib).toBe(RUNTIME_DEFAULT_SHM_BYTES / KIB);
    expect(app.written).toBe(RUNTIME_DEFAULT_SHM_BYTES);
    expect(app.ddError).toContain('No space left on device');
    // Every container has its own 64 MiB: nothing is shared between them.
    expect(BigInt(dfKib(prepare))).toBe(RUNTIME_DEFAULT_SHM_BYTES / KIB);
    expect(BigInt(dfKib(helper))).toBe(RUNTIME_DEFAULT_SHM_BYTES / KIB);
  });

  test.each(WAYS)('through %s: the planned size in every container, and dd stops there with ENOSPC, the container running', way => {
    const { app, prepare, helper, pod } = results.get(way)!;
    expect(plannedBytes).toBeGreaterThan(RUNTIME_DEFAULT_SHM_BYTES);
    expect(app.dfKib).toBe(plannedBytes / KIB);
    expect(BigInt(dfKib(prepare))).toBe(plannedBytes / KIB);
    expect(BigInt(dfKib(helper))).toBe(plannedBytes / KIB);
    expect(app.written).toBe(plannedBytes);
    expect(app.ddError).toContain('No space left on device');
    expect(field(app.lines, 'mount')).toMatch(/^\S+ \/dev\/shm tmpfs /);
    const status = containerStatus(pod, 'app');
    expect(status.state.running).toBeDefined();
    expect(status.restartCount).toBe(0);
  });
});

describe('2. why half: /dev/shm as large as the limit OOM-kills its writer, again and again', () => {
  // The writer is the container's main process, as an application is: a new file at every start,
  // so that what the last run wrote stays in the tmpfs, as a crashed program's segments do.
  const script = 'echo "df $(df -k /dev/shm | tail -1)"\nexec shmtool fill /dev/shm/fill-$RANDOM$RANDOM 400';
  const writer = (name: string, volume?: any) => deployment(name, {
    containers: [container('writer', '256Mi', volume ? { volumeMounts: [{ name: 'dshm', mountPath: '/dev/shm' }] } : {})],
    ...(volume ? { volumes: [{ name: 'dshm', emptyDir: volume }] } : {}),
  });
  const ns = NAMESPACES['no library'];

  test('a sizeLimit equal to the container limit: OOMKilled, and after the restart killed again while the pages stay', async () => {
    const whole = writer('whole-limit', { medium: 'Memory', sizeLimit: '256Mi' });
    await runOnNode(ns, [whole], { writer: script });
    const ends = await watchContainerEnds(admin, ns, 'whole-limit-', 'writer', seen => seen.length >= 3);
    count({ ran: 1 });
    expect(ends).toContainEqual(expect.objectContaining({ reason: 'OOMKilled', exitCode: 137 }));
    // The first run's pages stay charged to the pod: every later run dies at once, killed by the
    // kernel's OOM killer while it writes or while the runtime starts it.
    for (const end of ends) expect(`${end.reason} ${end.message ?? ''}`).toMatch(/OOMKilled|oom/i);
    const said = (e: ContainerEnd) => `${e.reason} (exit ${e.exitCode})${e.message ? `: ${e.message.replace(/^.*unable to start container process: /, '')}` : ''}`;
    transcript(`[sizeLimit = limit] writer: ${ends.map(said).join('; then ')}`);
  }, 300_000);

  test('the same workload sized by the rule: ENOSPC at the planned size, still running', async () => {
    const plain = writer('rule-sized');
    const [plan] = await planJson([plain]);
    const chart = new Chart(new App(), 'node');
    SharedMemory.addTo(new ApiObject(chart, 'rule-sized', plain));
    await runOnNode(ns, chart.toJson(), { writer: script });
    const pod = await waitForPod(admin, ns, 'rule-sized-', 'running', p => containerStatus(p, 'writer')?.state?.running !== undefined);
    const lines = await eventually('the writer reported', async () => {
      const printed = await logLines(admin, ns, pod.metadata.name, 'writer');
      return printed.some(l => l.startsWith('fill ')) ? printed : undefined;
    });
    count({ ran: 1 });
    const report = lines.find(l => l.startsWith('fill '))!;
    expect(BigInt(dfKib(lines))).toBe(BigInt(plan.shmSizeBytes!) / KIB);
    expect(report).toMatch(new RegExp(`wrote ${plan.shmSizeBytes} bytes, stopped: No space left on device$`));
    // Alive after it filled /dev/shm: its memory is the limit less what it wrote.
    await new Promise(resolve => setTimeout(resolve, 5_000));
    const after = containerStatus(await admin.get('pod', pod.metadata.name, ns), 'writer');
    expect(after.state.running).toBeDefined();
    expect(after.restartCount).toBe(0);
    transcript(`[sized by the rule] writer: ${lines[0]}; ${report}; restarts: ${after.restartCount}`);
  }, 300_000);
});

describe('3. the kubelet\'s cap, and a memory emptyDir without sizeLimit', () => {
  const ns = NAMESPACES['no library'];
  const dfOnly = 'echo "df $(df -k /dev/shm | tail -1)"; echo done; exec sleep 3600';
  const shmPod = (name: string, memory: string | undefined, volume: any, annotations: Record<string, string> = {}) => deployment(name, {
    containers: [container('app', memory, { volumeMounts: [{ name: 'dshm', mountPath: '/dev/shm' }] })],
    volumes: [{ name: 'dshm', emptyDir: volume }],
  }, annotations);

  async function dfOf(objects: any[], prefix: string): Promise<bigint> {
    await runOnNode(ns, objects, { app: dfOnly });
    const pod = await waitForPod(admin, ns, `${prefix}-`, 'running', p => containerStatus(p, 'app')?.state?.running !== undefined);
    count({ ran: 1 });
    const lines = await waitForLine(admin, ns, pod.metadata.name, 'app', 'done');
    transcript(`[${prefix}] app: ${field(lines, 'df')}`);
    return BigInt(dfKib(lines));
  }

  test('a sizeLimit above the pod limit is mounted at the pod limit', async () => {
    const capped = shmPod('capped', '256Mi', { medium: 'Memory', sizeLimit: '1Gi' });
    const [plan] = await planJson([capped]);
    expect(BigInt(plan.podMemoryLimitBytes!)).toBeLessThan(1024n * MIB);
    expect(await dfOf([capped], 'capped')).toBe(BigInt(plan.podMemoryLimitBytes!) / KIB);
  }, 300_000);

  test('without sizeLimit and without a limit: as large as the node\'s allocatable memory', async () => {
    const node = await admin.json(['get', 'node', admin.cluster.node!.name]);
    const allocatable: string = node.status.allocatable.memory;
    expect(await dfOf([shmPod('unbounded', undefined, { medium: 'Memory' })], 'unbounded')).toBe(bytesCeil(allocatable) / KIB);
  }, 300_000);

  test('without sizeLimit, with a limit: as large as the limit; sizeUnboundedShm sizes it by the rule', async () => {
    const unbounded = shmPod('limit-unbounded', '512Mi', { medium: 'Memory' });
    const [before] = await planJson([unbounded]);
    expect(await dfOf([unbounded], 'limit-unbounded')).toBe(BigInt(before.podMemoryLimitBytes!) / KIB);

    const opted = shmPod('bounded', '512Mi', { medium: 'Memory' }, { [settingAnnotation('sizeUnboundedShm')]: 'true' });
    const [plan] = await planJson([opted]);
    expect(BigInt(plan.shmSizeBytes!)).toBeLessThan(BigInt(plan.podMemoryLimitBytes!));
    const injected = await throughWayIn('inject', opted);
    expect(await dfOf(injected, 'bounded')).toBe(BigInt(plan.shmSizeBytes!) / KIB);
  }, 300_000);
});
