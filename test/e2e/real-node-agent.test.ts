/**
 * Area 8, the real node: `SharedMemoryAgent` for real. Its objects, as the construct synthesizes
 * them, run on the node (images mapped to the node image, nothing else changed): the CSI node
 * plugin's DaemonSet, which registers itself with the kubelet; the kubelet then calls it to
 * publish the agent's tmpfs domain into the pods of its tenants.
 *
 * - two tenant pods in a Pod Security `restricted` namespace share a POSIX segment (shm_open)
 *   written by one and read by the other, and by the agent;
 * - a pod of a namespace the agent does not list never starts, and its event says why;
 * - deleting one tenant leaves the other's segment intact;
 * - `systemV: true`: two pods share a System V segment (shmget) through the node's IPC namespace.
 */
import { spawnSync } from 'child_process';
import { ApiObject, App, Chart, Size } from 'cdk8s';
import { deleteSuiteObjects } from './support/cleanup';
import { Kube, eventually } from './support/kube';
import { deployment } from './support/node/application';
import { containerStatus, transcript, waitForPod } from './support/node/containers';
import { forNode, podSpecsOf } from './support/node/node-copies';
import { area, count } from './support/summary';
import { AgentDelivery, AgentPlacement, SharedMemoryAgent, SharedMemoryDomain } from '../../src';

area('8 real node');

const admin = Kube.admin();
const node = admin.cluster.node!;
const TENANTS = 'e2e-node-tenants';
const STRANGERS = 'e2e-node-strangers';
const SYSV = 'e2e-node-sysv';
const SEGMENT = '/cdk8s-shm-e2e';
/** The System V key the test creates in the node's IPC namespace (the machine's), and removes. */
const SYSV_KEY = '0x5e2e0001';
const RESTRICTED = { 'pod-security.kubernetes.io/enforce': 'restricted' };
const PRIVILEGED = { 'pod-security.kubernetes.io/enforce': 'privileged' };

/** A restricted-compliant workload running `script` as uid 1000. */
function tenant(name: string, namespace: string, script: string): any {
  return deployment(name, namespace, {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{
      name: 'app',
      image: 'registry.example.com/app:1',
      command: ['sh', '-c', script],
      resources: { limits: { memory: '64Mi' } },
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    }],
  });
}

/** An agent on the real node (rolled out by its label and taint), with its tmpfs in a shared directory of the node. */
function agentChart(name: string, systemV: boolean, share: (agent: SharedMemoryAgent, chart: Chart) => void): any[] {
  const chart = new Chart(new App(), name);
  const agent = new SharedMemoryAgent(chart, name, {
    domain: SharedMemoryDomain.tmpfs({ size: Size.mebibytes(64), hostPath: `${node.sharedDir}/${name}` }),
    delivery: AgentDelivery.csi({ kubeletDir: node.kubeletDir }),
    placement: AgentPlacement.labeledNodes({ key: node.taint.key, value: node.taint.value }),
    systemV,
    containers: [{ name: 'agent', image: 'registry.example.com/agent:1', command: ['sh', '-c', 'exec sleep 3600'], resources: { memory: { limit: Size.mebibytes(64) } } }],
  });
  share(agent, chart);
  return chart.toJson();
}

async function exec(namespace: string, pod: string, command: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return admin.kubectl(['exec', '-n', namespace, pod, '--', ...command], { allowFailure: true });
}

const running = (p: any) => (p.status?.containerStatuses ?? []).length > 0 && p.status.containerStatuses.every((s: any) => s.state?.running);
let objects: any[] = [];
let sysvObjects: any[] = [];

beforeAll(async () => {
  await admin.namespace(TENANTS, RESTRICTED);
  await admin.namespace(STRANGERS, RESTRICTED);
  objects = forNode(agentChart('e2e-agent', false, (agent, chart) => {
    agent.share(new ApiObject(chart, 'writer', tenant('writer', TENANTS, `shmtool posix-put ${SEGMENT} "written by $(hostname)" && exec sleep 3600`)));
    agent.share(new ApiObject(chart, 'reader', tenant('reader', TENANTS, 'exec sleep 3600')));
  }));
  await admin.apply(objects);
  count({ objects: objects.length });
}, 300_000);

afterAll(async () => {
  await deleteSuiteObjects(admin, [...objects, ...sysvObjects], [TENANTS, STRANGERS, SYSV, 'e2e-agent', 'e2e-agent-sysv']);
  // The node's IPC namespace is the machine's: the segment goes with the test.
  spawnSync('ipcrm', ['-M', SYSV_KEY], { stdio: 'ignore' });
});

describe('6. the node agent: CSI delivery', () => {
  test('the plugin registers itself with the kubelet: the Node lists the driver', async () => {
    const driver = objects.find(o => o.kind === 'CSIDriver').metadata.name;
    const csiNode = await eventually(`CSINode ${node.name} lists ${driver}`, async () => {
      const found = await admin.get('csinode', node.name);
      return found?.spec?.drivers?.some((d: any) => d.name === driver) ? found : undefined;
    }, 180_000, 1000);
    expect(csiNode.spec.drivers.find((d: any) => d.name === driver).nodeID).toBe(node.name);
    const plugin = await waitForPod(admin, 'e2e-agent', 'e2e-agent-csi-', 'running', running);
    const logs = (await admin.kubectl(['logs', '-n', 'e2e-agent', plugin.metadata.name, '-c', 'csi-plugin'])).stdout;
    expect(logs).toContain('"msg":"registered with the kubelet"');
    // Exactly one container: no registrar sidecar.
    expect(plugin.spec.containers.map((c: any) => c.name)).toEqual(['csi-plugin']);
    count({ ran: 1 });
  }, 300_000);

  test('two tenants in a restricted namespace and the agent share one POSIX segment', async () => {
    const writer = await waitForPod(admin, TENANTS, 'writer-', 'running', running);
    const reader = await waitForPod(admin, TENANTS, 'reader-', 'running', running);
    const agent = await waitForPod(admin, 'e2e-agent', 'e2e-agent-', 'running', p => !p.metadata.name.startsWith('e2e-agent-csi-') && running(p));
    count({ ran: 3 });
    const expected = `posix-get ${SEGMENT}: written by ${writer.metadata.name}`;
    const read = await eventually('the reader sees the segment', async () => {
      const run = await exec(TENANTS, reader.metadata.name, ['shmtool', 'posix-get', SEGMENT]);
      return run.status === 0 ? run.stdout.trim() : undefined;
    });
    expect(read).toBe(expected);
    expect((await exec('e2e-agent', agent.metadata.name, ['shmtool', 'posix-get', SEGMENT])).stdout.trim()).toBe(expected);
    // One tmpfs, the agent's: its size, and the segment in it.
    const df = (await exec(TENANTS, reader.metadata.name, ['sh', '-c', 'df -k /dev/shm | tail -1'])).stdout.trim();
    expect(Number(df.split(/\s+/)[1])).toBe(64 * 1024);
    transcript(`[agent, csi] reader: ${read}; ${df}`);
    // The namespace kept Pod Security restricted: the pods were admitted there.
    expect((await admin.get('namespace', TENANTS)).metadata.labels).toMatchObject(RESTRICTED);
  }, 300_000);

  test('a pod of a namespace the agent does not list never starts; its event says why', async () => {
    const spec = podSpecsOf(objects.find(o => o.metadata?.name === 'reader' && o.kind === 'Deployment'))[0];
    const stranger = forNode([{ ...tenant('stranger', STRANGERS, 'exec sleep 3600') }])[0];
    stranger.spec.template.spec.volumes = spec.volumes;
    stranger.spec.template.spec.containers[0].volumeMounts = spec.containers[0].volumeMounts;
    await admin.create([stranger]);
    count({ objects: 1 });
    const event = await eventually('a FailedMount event', async () => {
      const events = await admin.list('events', STRANGERS);
      return events.find((e: any) => e.reason === 'FailedMount' && e.involvedObject.name.startsWith('stranger-'));
    }, 180_000, 1000);
    expect(event.message).toMatch(/not a tenant|may not|PermissionDenied/i);
    expect(event.message).toContain(STRANGERS);
    const pod = (await admin.list('pods', STRANGERS))[0];
    expect(pod.status.phase).toBe('Pending');
    expect(containerStatus(pod, 'app')?.state?.running).toBeUndefined();
    transcript(`[agent, csi] stranger: ${event.reason}: ${event.message.split('\n')[0]}`);
  }, 300_000);

  test('deleting one tenant leaves the other\'s segment intact', async () => {
    const reader = await waitForPod(admin, TENANTS, 'reader-', 'running', running);
    await admin.kubectl(['delete', 'deployment', 'writer', '-n', TENANTS, '--wait=true']);
    await eventually('the writer pod is gone', async () => ((await admin.list('pods', TENANTS, 'app=writer')).length === 0 ? true : undefined), 120_000, 500);
    const run = await exec(TENANTS, reader.metadata.name, ['shmtool', 'posix-get', SEGMENT]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('posix-get /cdk8s-shm-e2e: written by writer-');
  }, 300_000);
});

describe('6. the node agent: System V', () => {
  test('systemV: two pods share a System V segment through the node\'s IPC namespace', async () => {
    await admin.namespace(SYSV, PRIVILEGED);
    const hostIpc = (name: string, script: string) => tenant(name, SYSV, script);
    sysvObjects = forNode(agentChart('e2e-agent-sysv', true, (agent, chart) => {
      agent.share(new ApiObject(chart, 'sysv-writer', hostIpc('sysv-writer', `shmtool sysv-put ${SYSV_KEY} "written by $(hostname)" && exec sleep 3600`)));
      agent.share(new ApiObject(chart, 'sysv-reader', hostIpc('sysv-reader', 'exec sleep 3600')));
    }));
    await admin.apply(sysvObjects);
    count({ objects: sysvObjects.length });
    const writer = await waitForPod(admin, SYSV, 'sysv-writer-', 'running', running);
    const reader = await waitForPod(admin, SYSV, 'sysv-reader-', 'running', running);
    count({ ran: 2 });
    expect(writer.spec.hostIPC).toBe(true);
    expect(reader.spec.hostIPC).toBe(true);
    const read = await eventually('the reader sees the System V segment', async () => {
      const run = await exec(SYSV, reader.metadata.name, ['shmtool', 'sysv-get', SYSV_KEY]);
      return run.status === 0 ? run.stdout.trim() : undefined;
    });
    expect(read).toMatch(new RegExp(`^sysv-get ${SYSV_KEY} \\(id \\d+\\): written by ${writer.metadata.name}$`));
    transcript(`[agent, System V] reader: ${read}`);
  }, 300_000);
});
