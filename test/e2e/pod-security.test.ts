/**
 * Area 3: Pod Security admission judges what we ship. The webhook's own Deployment, in its
 * namespace labelled `restricted`, becomes Pods the API server admits (without a warning); the
 * node agent's DaemonSet becomes a Pod in its own `privileged` namespace; and the README's rule
 * for the workloads that share memory with the agent holds as written: their namespace needs the
 * agent's labels (`enforce: privileged`), any other keeps its level, and `baseline` or
 * `restricted` refuse them.
 */
import { App } from 'cdk8s';
import { Kube, eventually } from './support/kube';
import { area, count } from './support/summary';
import { deleteClusterScoped, only, synthWebhook } from './support/webhook';
import nodeAgentExample from '../../examples/node-agent';

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

describe('the node agent and the workloads that share with it (examples/node-agent.ts)', () => {
  const objects = nodeAgentExample(new App()).toJson();
  const daemonSet = only(objects, 'DaemonSet');
  const web = only(objects, 'Deployment');
  const agentNamespace = daemonSet.metadata.namespace;
  const sharedVolume = web.spec.template.spec.volumes.find((v: any) => v.hostPath).name;

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

  test('the agent\'s namespace is labelled as the README says', () => {
    const ns = objects.find(o => o.kind === 'Namespace' && o.metadata.name === agentNamespace);
    expect(ns.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'privileged',
      'pod-security.kubernetes.io/warn': 'baseline',
      'pod-security.kubernetes.io/audit': 'baseline',
    });
  });

  test('as synthesized: the agent\'s DaemonSet gets a Pod on the labelled node, and the shared Deployment its Pods', async () => {
    applied.push(...objects);
    const run = await admin.apply(objects);
    count({ objects: objects.length });
    // warn: baseline says what the agent needs beyond it, as the README promises.
    expect(run.stderr).toMatch(/Warning: would violate PodSecurity "baseline:latest": .*hostPath volumes/);
    const [agent] = await podsOf(agentNamespace, daemonSet.spec.selector.matchLabels, 1);
    const [term] = agent.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    expect(term.matchFields[0].values).toEqual([NODE]);
    const shared = await podsOf(web.metadata.namespace, web.spec.selector.matchLabels, web.spec.replicas);
    expect(shared).toHaveLength(web.spec.replicas);
    expect(await refusals(agentNamespace)).toEqual([]);
    expect(await refusals(web.metadata.namespace)).toEqual([]);
    count({ pods: 1 + shared.length });
  });

  test.each([
    ['baseline', `hostPath volumes (volume "${sharedVolume}")`],
    ['restricted', `volume "${sharedVolume}" uses restricted volume type "hostPath"`],
  ])('a shared workload in a namespace that enforces %s is refused, naming what it needs', async (level, needs) => {
    const namespace = `e2e-psa-shared-${level}`;
    await admin.namespace(namespace, { 'pod-security.kubernetes.io/enforce': level });
    await admin.apply([{ ...web, metadata: { ...web.metadata, namespace } }]);
    count({ objects: 1 });
    const messages = await eventually(`the ReplicaSet refused in ${namespace}`, async () => {
      const found = await refusals(namespace);
      return found.length > 0 ? found : undefined;
    });
    expect(messages[0]).toContain(`violates PodSecurity "${level}:latest"`);
    expect(messages[0]).toContain(needs);
    expect(await admin.list('pods', namespace)).toEqual([]);
  });

  test('the same workload without share() keeps its namespace\'s level: baseline admits it', async () => {
    const namespace = 'e2e-psa-baseline';
    await admin.namespace(namespace, { 'pod-security.kubernetes.io/enforce': 'baseline' });
    // The same Deployment before share(): no hostPath, no rollout node selector.
    const spec = structuredClone(web.spec.template.spec);
    spec.volumes = (spec.volumes ?? []).filter((v: any) => !v.hostPath);
    for (const c of spec.containers) c.volumeMounts = (c.volumeMounts ?? []).filter((m: any) => spec.volumes.some((v: any) => v.name === m.name));
    delete spec.nodeSelector;
    delete spec.tolerations;
    await admin.apply([{ ...web, metadata: { ...web.metadata, namespace }, spec: { ...web.spec, template: { ...web.spec.template, spec } } }]);
    count({ objects: 1 });
    const pods = await podsOf(namespace, web.spec.selector.matchLabels, web.spec.replicas);
    expect(pods.length).toBe(web.spec.replicas);
    expect(await refusals(namespace)).toEqual([]);
    count({ pods: pods.length });
  });

  test('the agent itself in a namespace that enforces baseline is refused (its mounter is privileged)', async () => {
    const namespace = 'e2e-psa-agent-baseline';
    await admin.namespace(namespace, { 'pod-security.kubernetes.io/enforce': 'baseline' });
    await admin.apply([{ ...daemonSet, metadata: { ...daemonSet.metadata, namespace } }]);
    count({ objects: 1 });
    const messages = await eventually(`the DaemonSet refused in ${namespace}`, async () => {
      const found = await refusals(namespace);
      return found.length > 0 ? found : undefined;
    });
    expect(messages[0]).toContain('violates PodSecurity "baseline:latest"');
    expect(messages[0]).toMatch(/privileged/);
  });
});
