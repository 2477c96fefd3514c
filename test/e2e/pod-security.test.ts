/**
 * Area 3: Pod Security admission judges what we ship. The webhook's own Deployment, in its
 * namespace labelled `restricted`, becomes Pods the API server admits (without a warning); the
 * node agent's CSIDriver is accepted and its two DaemonSets (the CSI node plugin and the agent)
 * become Pods in their own `privileged` namespace; and the README's Pod Security table holds as
 * written: a workload that shares memory with the agent through the CSI volume is admitted by
 * `restricted` and `baseline`, with System V sharing (hostIPC) or the hostPath delivery it is
 * refused by both, naming what it needs, and the plugin is refused anywhere but `privileged`.
 */
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Kube, eventually } from './support/kube';
import { area, count } from './support/summary';
import { deleteClusterScoped, only, synthWebhook } from './support/webhook';
import nodeAgentExample from '../../examples/node-agent';
import { AgentDelivery, SharedMemoryAgent, SharedMemoryAgentProps } from '../../src';

area('3 Pod Security admission');

const admin = Kube.admin();
const NODE = 'e2e-agent-node';
/** Everything applied for real, whose cluster-wide part is deleted at the end. */
const applied: any[] = [];

afterAll(async () => {
  await deleteClusterScoped(admin, applied);
});

/** Pods owned (through a ReplicaSet or directly) by a workload, once the controllers made them. */
async function podsOf(namespace: string, selector: Record<string, string>, want: number): Promise<any[]> {
  const labels = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  return eventually(`${want} pod(s) ${labels} in ${namespace}`, async () => {
    const pods = await admin.list('pods', namespace, labels);
    return pods.length >= want ? pods : undefined;
  });
}

/** The FailedCreate events of a namespace: what a controller was refused. */
async function refusals(namespace: string): Promise<string[]> {
  const events = await admin.list('events', namespace);
  return events.filter(e => e.reason === 'FailedCreate').map(e => e.message);
}

test('the webhook\'s Deployment, in its restricted namespace, becomes Pods the API server admits', async () => {
  const namespace = 'e2e-psa-webhook';
  const objects = synthWebhook({ namespace, name: 'e2e-psa' });
  applied.push(...objects);
  const ns = only(objects, 'Namespace');
  expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  const run = await admin.apply(objects);
  count({ objects: objects.length });
  // warn: restricted is on the namespace: a template that broke it would print a warning here.
  expect(run.stderr).not.toContain('would violate PodSecurity');
  const deployment = only(objects, 'Deployment');
  const pods = await podsOf(namespace, deployment.spec.selector.matchLabels, deployment.spec.replicas);
  expect(pods).toHaveLength(deployment.spec.replicas);
  for (const pod of pods) expect(pod.spec.priorityClassName).toBe(deployment.spec.template.spec.priorityClassName);
  expect(await refusals(namespace)).toEqual([]);
  count({ pods: pods.length });
});

/** A restricted-compliant business Deployment shared with an agent of these props (the example's, by default). */
function sharedWith(props: Partial<SharedMemoryAgentProps>): any[] {
  const chart = new Chart(new App(), 'variant');
  const agent = new SharedMemoryAgent(chart, 'routing-agent', {
    containers: [{ name: 'agent', image: 'registry.example.com/platform/routing-agent:3.2.1', resources: { memory: { limit: Size.mebibytes(256) } } }],
    ...props,
  });
  const web = new kplus.Deployment(chart, 'web', {
    metadata: { namespace: 'shop' },
    containers: [{
      name: 'web',
      image: 'registry.example.com/shop/web:5.0.0',
      resources: { memory: { limit: Size.gibibytes(1) } },
      securityContext: { capabilities: { drop: [kplus.Capability.ALL] }, seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT } },
    }],
  });
  agent.share(web);
  const warn = console.warn;
  console.warn = () => undefined; // the agent's synthesis warnings (hostIPC, hostPath) are expected here
  try {
    return chart.toJson();
  } finally {
    console.warn = warn;
  }
}

describe('the node agent and the workloads that share with it (examples/node-agent.ts)', () => {
  const objects = nodeAgentExample(new App()).toJson();
  const daemonSets = objects.filter(o => o.kind === 'DaemonSet');
  const daemonSet = daemonSets.find(o => !o.metadata.name.endsWith('-csi'));
  const plugin = daemonSets.find(o => o.metadata.name.endsWith('-csi'));
  const driver = only(objects, 'CSIDriver');
  const web = only(objects, 'Deployment');
  const agentNamespace = daemonSet.metadata.namespace;

  /** `web`, moved to another namespace (and its ReplicaSet's name with it). */
  const webIn = (namespace: string, source: any = web) => ({ ...source, metadata: { ...source.metadata, namespace } });

  beforeAll(async () => {
    // A Node with the rollout label and taint (README "Gradual rollout", step 2); no kubelet behind it.
    const [key, value] = Object.entries(daemonSet.spec.template.spec.nodeSelector).find(([k]) => k !== 'kubernetes.io/os')!;
    const taint = daemonSet.spec.template.spec.tolerations.find((t: any) => t.key === key);
    await admin.apply([{
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: NODE, labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': NODE, [key]: String(value) } },
      spec: { taints: [{ key, value: taint.value, effect: taint.effect }] },
    }]);
    count({ objects: 1 });
    // The API server taints every new Node not-ready (TaintNodesByCondition); the first Ready status
    // of its kubelet would lift that, and there is no kubelet here.
    await admin.kubectl(['taint', 'node', NODE, 'node.kubernetes.io/not-ready:NoSchedule-']);
  });

  afterAll(async () => {
    await admin.kubectl(['delete', 'node', NODE, '--ignore-not-found']);
  });

  test('the agent\'s namespace is labelled as the README says; the business namespace enforces restricted', () => {
    const ns = objects.find(o => o.kind === 'Namespace' && o.metadata.name === agentNamespace);
    expect(ns.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'privileged',
      'pod-security.kubernetes.io/warn': 'baseline',
      'pod-security.kubernetes.io/audit': 'baseline',
    });
    const shop = objects.find(o => o.kind === 'Namespace' && o.metadata.name === web.metadata.namespace);
    expect(shop.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(web.spec.template.spec.volumes.map((v: any) => Object.keys(v).filter(k => k !== 'name'))).toEqual([['csi']]);
  });

  test('as synthesized: the CSIDriver is accepted, plugin and agent get a Pod on the labelled node, the restricted namespace admits the shared Pods', async () => {
    applied.push(...objects);
    const run = await admin.apply(objects);
    count({ objects: objects.length });
    // warn: baseline says what the plugin needs beyond it, as the README promises; nothing warns about restricted.
    expect(run.stderr).toMatch(/Warning: would violate PodSecurity "baseline:latest": .*hostPath volumes/);
    expect(run.stderr).not.toContain('"restricted:latest"');
    // The CSIDriver as the API server stored it: what the plugin relies on is what we sent.
    const stored = await admin.get('csidriver', driver.metadata.name);
    expect(stored.spec).toMatchObject(driver.spec);
    for (const ds of [plugin, daemonSet]) {
      const [pod] = await podsOf(agentNamespace, ds.spec.selector.matchLabels, 1);
      const [term] = pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
      expect(term.matchFields[0].values).toEqual([NODE]);
    }
    const shared = await podsOf(web.metadata.namespace, web.spec.selector.matchLabels, web.spec.replicas);
    expect(shared).toHaveLength(web.spec.replicas);
    expect(shared[0].spec.volumes.find((v: any) => v.csi)?.csi).toEqual(web.spec.template.spec.volumes[0].csi);
    expect(await refusals(agentNamespace)).toEqual([]);
    expect(await refusals(web.metadata.namespace)).toEqual([]);
    count({ pods: 2 + shared.length });
  });

  test('the shared workload in a namespace that enforces baseline is admitted too', async () => {
    const namespace = 'e2e-psa-csi-baseline';
    await admin.namespace(namespace, { 'pod-security.kubernetes.io/enforce': 'baseline' });
    await admin.apply([webIn(namespace)]);
    count({ objects: 1 });
    const pods = await podsOf(namespace, web.spec.selector.matchLabels, web.spec.replicas);
    expect(pods.length).toBe(web.spec.replicas);
    expect(await refusals(namespace)).toEqual([]);
    count({ pods: pods.length });
  });

  const systemV = only(sharedWith({ systemV: true }), 'Deployment');
  const hostPath = only(sharedWith({ delivery: AgentDelivery.hostPath() }), 'Deployment');
  const hostPathVolume = hostPath.spec.template.spec.volumes.find((v: any) => v.hostPath).name;
  test.each([
    ['System V (hostIPC)', 'baseline', systemV, 'host namespaces (hostIPC=true)'],
    ['System V (hostIPC)', 'restricted', systemV, 'host namespaces (hostIPC=true)'],
    ['the hostPath delivery', 'baseline', hostPath, `hostPath volumes (volume "${hostPathVolume}")`],
    ['the hostPath delivery', 'restricted', hostPath, `volume "${hostPathVolume}" uses restricted volume type "hostPath"`],
  ])('a workload shared with %s in a namespace that enforces %s is refused, naming what it needs', async (_what, level, workload, needs) => {
    const namespace = `e2e-psa-${workload === systemV ? 'sysv' : 'hostpath'}-${level}`;
    await admin.namespace(namespace, { 'pod-security.kubernetes.io/enforce': level });
    await admin.apply([webIn(namespace, workload)]);
    count({ objects: 1 });
    const messages = await eventually(`the ReplicaSet refused in ${namespace}`, async () => {
      const found = await refusals(namespace);
      return found.length > 0 ? found : undefined;
    });
    expect(messages[0]).toContain(`violates PodSecurity "${level}:latest"`);
    expect(messages[0]).toContain(needs);
    expect(await admin.list('pods', namespace)).toEqual([]);
  });

  test('the CSI node plugin in a namespace that enforces baseline is refused (it is privileged); the agent itself is admitted', async () => {
    const namespace = 'e2e-psa-agent-baseline';
    await admin.namespace(namespace, { 'pod-security.kubernetes.io/enforce': 'baseline' });
    await admin.apply([webIn(namespace, plugin), webIn(namespace, daemonSet)]);
    count({ objects: 2 });
    const messages = await eventually(`the plugin DaemonSet refused in ${namespace}`, async () => {
      const found = await refusals(namespace);
      return found.length > 0 ? found : undefined;
    });
    expect(messages[0]).toContain('violates PodSecurity "baseline:latest"');
    expect(messages[0]).toMatch(/privileged/);
    const [agent] = await podsOf(namespace, daemonSet.spec.selector.matchLabels, 1);
    expect(agent.spec.volumes.find((v: any) => v.csi)).toBeDefined();
    expect(await admin.list('pods', namespace, Object.entries(plugin.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(','))).toEqual([]);
    count({ pods: 1 });
  });
});
